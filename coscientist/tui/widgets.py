"""The pieces of a session screen. They only display; screens decide what and when."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.timer import Timer
from textual.widgets import DataTable, RichLog, Static

from coscientist.run_status import ProgressView
from coscientist.schemas import LeaderboardEntry, SessionInfo
from coscientist.tui import render
from coscientist.tui.data import SessionRow, Stats
from coscientist.tui.messages import HypothesisChosen, SessionChosen


class KeyedTable(DataTable[Text]):
    """A row-cursor table whose rows are keyed by id, keeping the cursor on its row across reloads."""

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        for label in self.COLUMNS:
            self.add_column(label, key=label)

    async def _on_idle(self, event: events.Idle) -> None:
        # textual measures new and changed cells on idle, but keeps the lines it rendered
        # before that at the old column widths (textual#4470): a paint between the two, likely
        # on a loaded machine, left titles cut until the cursor moved. Drop those lines.
        widths = [column.content_width for column in self.columns.values()]
        await super()._on_idle(event)
        if [column.content_width for column in self.columns.values()] != widths:
            clear = getattr(self, "_clear_caches", None)  # textual's own, private: may go
            if clear is not None:
                clear()
            self.refresh()

    @property
    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value

    def replace_rows(self, rows: Sequence[tuple[str, Sequence[Text]]]) -> None:
        """Show `rows`; only changed cells are redrawn when the order is the same as before."""
        if [key for key, _ in rows] == [row.key.value for row in self.ordered_rows]:
            for key, cells in rows:
                for column, cell in zip(self.COLUMNS, cells, strict=True):
                    if self.get_cell(key, column) != cell:
                        self.update_cell(key, column, cell, update_width=True)
            return
        keep = self.selected_key
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if keep is not None and any(key == keep for key, _ in rows):
            self.move_cursor(row=self.get_row_index(keep), animate=False)


class LeaderboardTable(KeyedTable):
    COLUMNS = ("rank", "Elo", "95%", "P(top)", "W-L", "origin", "title")

    def show(self, board: list[LeaderboardEntry]) -> None:
        self.replace_rows([(e.id, render.board_row(e)) for e in board])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(HypothesisChosen(event.row_key.value))


class SessionsTable(KeyedTable):
    COLUMNS = ("id", "status", "created (UTC)", "hypotheses", "goal")

    def show(self, sessions: list[SessionRow]) -> None:
        rows = []
        for row in sessions:
            info = row.info
            cells = (
                Text(info.id),
                render.status_line(info),
                Text(info.created_at.strftime("%Y-%m-%d %H:%M")),
                Text(str(row.hypotheses), justify="right"),
                Text(render.clip(info.goal)),
            )
            rows.append((info.id, cells))
        self.replace_rows(rows)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(SessionChosen(event.row_key.value))


class SessionHeader(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("loading…", style="dim"), id=id, markup=False)

    def show(self, info: SessionInfo, note: str = "") -> None:
        text = render.header(info, note)
        if text != self.content:  # a reload that changes nothing lays nothing out again
            self.update(text)


class StatsLine(Static):
    """The status bar: progress toward the binding stop rule above the session's counters."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text(""), id=id, markup=False)
        self._stats: Stats | None = None
        self._view: ProgressView | None = None
        self._running = False

    def show(self, stats: Stats) -> None:
        self._stats = stats
        self._redraw()

    def show_progress(self, view: ProgressView | None, *, running: bool) -> None:
        self._view, self._running = view, running
        self._redraw()

    def _redraw(self) -> None:
        rule = self._view.binding if self._view is not None else None
        lines = [render.progress_line(self._view, running=self._running)]
        if self._stats is not None:
            lines.append(render.stats_line(self._stats, skip=rule.rule if rule else None))
        text = Text("\n").join(lines)
        if text != self.content:
            # Two lines high in the stylesheet, whatever they say: a repaint, never a layout
            # (textual lays out the whole screen again for a Static's default update).
            self.update(text, layout=False)


class EventLog(RichLog):
    """Hypotheses, reviews, matches and failures as they land; never parses markup."""

    # Lines that arrive within this long of the last write wait and go in together. Each
    # write grows the log, and textual lays out and repaints the whole screen for that; at
    # 30 model calls a second, line by line, the painting took a fifth of the run's core.
    FLUSH_SECONDS: ClassVar[float] = 0.25

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=2000, wrap=True, markup=False, highlight=False)
        self.border_title = "Activity"
        self._pending: list[Text] = []
        self._flush_timer: Timer | None = None
        self._flushed_at = -self.FLUSH_SECONDS

    def add(self, line: Text) -> None:
        self._pending.append(line)
        if self._flush_timer is not None:
            return
        wait = self._flushed_at + self.FLUSH_SECONDS - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self._flush_timer = self.set_timer(wait, self.flush)

    def flush(self) -> None:
        """Write the lines waiting, in the order they came."""
        self._flush_timer = None
        self._flushed_at = time.monotonic()
        pending, self._pending = self._pending, []
        for line in pending:
            self.write(line)
