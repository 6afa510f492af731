"""The keyed tables the screens show: rows painted before textual measures them still widen."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from coscientist.tui.widgets import KeyedTable
from tests.tui_support import screen_text

pytestmark = pytest.mark.anyio

LONG = "A title much longer than its column's label"


class Table(KeyedTable):
    COLUMNS = ("id", "title")


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Table()


def painted_row(app: TableApp) -> str:
    return screen_text(app.export_screenshot()).split("\n")[1]


async def test_rows_painted_before_they_are_measured_are_repainted_at_full_width() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Table)
        table.replace_rows([("a", (Text("a"), Text(LONG)))])
        # A paint that comes before textual's idle-time measure (as on a loaded machine)
        # renders the row at the labels' widths, and textual kept that render (textual#4470).
        for y in range(3):
            table.render_line(y)
        await pilot.pause()
        assert LONG in painted_row(app)


async def test_a_cell_that_grows_in_place_widens_its_column() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Table)
        table.replace_rows([("a", (Text("a"), Text("short")))])
        await pilot.pause()
        assert "short" in painted_row(app)
        # Same rows in the same order: the cell is updated in place (a live leaderboard's
        # W-L going from 9-9 to 10-9); it used to stay cut at its first width.
        table.replace_rows([("a", (Text("a"), Text(LONG)))])
        await pilot.pause()
        assert LONG in painted_row(app)
