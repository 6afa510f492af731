"""The knowledge-graph screen: growth, figures, communities, hubs, bridges, one hypothesis's concepts.

Opened with `g` from a session screen (for the hypothesis under the cursor);
reloads from the store every few seconds in a worker thread, so a running
session's graph grows on screen.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from coscientist.errors import CoscientistError
from coscientist.reports.text import sparkline
from coscientist.safe_text import printable
from coscientist.store.repository import Store
from coscientist.tui.graph_data import GraphScreenData, load_graph_screen
from coscientist.tui.messages import LoadFailed

GRAPH_POLL_SECONDS = 3.0


class GraphLoaded(Message):
    def __init__(self, data: GraphScreenData) -> None:
        super().__init__()
        self.data = data


def _figures(text: Text, data: GraphScreenData) -> None:
    point = data.latest
    if point is None:
        text.append(
            "No graph figures yet: they are stored as the session's graph grows.\n", style="dim"
        )
        return
    m = point.metrics
    text.append("Growth ", style="bold")
    text.append(
        f"({len(data.series)} points, iteration {data.series[0].iteration} to {point.iteration})\n"
    )
    text.append("  concepts   ", style="dim")
    text.append(sparkline([float(p.metrics.nodes) for p in data.series]), style="green")
    text.append(f"  {m.nodes}\n")
    text.append("  links      ", style="dim")
    text.append(sparkline([float(p.metrics.links) for p in data.series]), style="cyan")
    text.append(f"  {m.links}\n")
    text.append("  modularity ", style="dim")
    text.append(sparkline([p.metrics.modularity for p in data.series]), style="magenta")
    text.append(f"  {m.modularity:.2f}\n\n")
    alpha = f"{m.powerlaw_alpha:.2f} (KS {m.powerlaw_ks:.3f})" if m.powerlaw_alpha else "n/a"
    facts = [
        ("hypotheses", str(m.hypotheses)),
        ("mean degree", f"{m.mean_degree:.2f}"),
        ("power law", alpha),
        ("communities", str(m.communities)),
        ("clustering", f"{m.clustering:.3f}"),
        ("k-core", f"{m.max_core} ({m.core_size})"),
        ("diameter", str(m.diameter) if m.diameter is not None else "n/a"),
    ]
    for i, (label, value) in enumerate(facts):
        text.append("  " if i else "")
        text.append(f"{label} ", style="dim")
        text.append(value, style="bold")
    text.append("\n")


def _lists(text: Text, data: GraphScreenData) -> None:
    point = data.latest
    if point is None:
        return
    text.append("\nHubs ", style="bold")
    text.append(printable(", ".join(f"{h.label} ({h.score:.0f})" for h in point.hubs)) or "none")
    text.append("\nBridges ", style="bold")
    text.append(printable(", ".join(f"{b.label} ({b.score:.3f})" for b in point.bridges)) or "none")
    text.append("\n\nCommunities\n", style="bold")
    for c in point.communities:
        text.append(f"  {c.index + 1:>2}. ", style="dim")
        text.append(f"{c.size} concepts: ")
        text.append(printable(", ".join(c.top)))
        text.append("\n")


def _hypothesis(text: Text, data: GraphScreenData) -> None:
    h = data.hypothesis
    if h is None:
        return
    text.append("\nSelected hypothesis ", style="bold")
    text.append(printable(h.title))
    text.append(f"  {h.id}\n", style="dim")
    text.append("  concepts ", style="dim")
    text.append(printable(", ".join(h.concepts)) or "none linked yet")
    if h.inspired_by:
        text.append("\n  inspired by ", style="dim")
        text.append(printable(", ".join(h.inspired_by)))
    if h.sources:
        text.append("\n  sources ", style="dim")
        text.append(printable(", ".join(h.sources)))
    text.append("\n")


def render_graph(data: GraphScreenData) -> Text:
    """Model-written labels are appended as plain text (never parsed as markup), with control
    characters made visible (coscientist.safe_text)."""
    text = Text()
    _figures(text, data)
    _hypothesis(text, data)
    _lists(text, data)
    return text


class GraphScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(
        self,
        store: Store,
        session_id: str,
        hypothesis_id: str | None = None,
        *,
        poll_seconds: float = GRAPH_POLL_SECONDS,
    ) -> None:
        super().__init__()
        self.store = store
        self.session_id = session_id
        self.hypothesis_id = hypothesis_id
        self.poll_seconds = poll_seconds
        self.data: GraphScreenData | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="graph"):
            yield Static(Text("loading…", style="dim"), id="graph-body", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(self.poll_seconds, self._load)
        self._load()

    def action_reload(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="graph")
    def _load(self) -> None:
        try:
            data = load_graph_screen(self.store, self.session_id, self.hypothesis_id)
        except CoscientistError as exc:
            self.post_message(LoadFailed(str(exc)))
            return
        self.post_message(GraphLoaded(data))

    def on_graph_loaded(self, message: GraphLoaded) -> None:
        self.data = message.data
        self.query_one("#graph-body", Static).update(render_graph(message.data))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#graph-body", Static).update(Text(message.error, style="red"))
