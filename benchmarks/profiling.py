"""Where the event loop's time goes: cProfile totals grouped by component.

cProfile sees only the thread that enabled it (the event loop); the store's
worker thread shows up as CPU outside it, which callers report separately.
"""

from __future__ import annotations

import cProfile
import pstats
from typing import Any

# First match wins: (component, fragments of a file path or built-in name)
_COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("idle: waiting in epoll", ("method 'poll' of 'select.epoll'", "method 'select' of")),
    ("coscientist.llm", ("/coscientist/llm/",)),
    ("coscientist.store", ("/coscientist/store/",)),
    ("coscientist.proximity", ("/coscientist/proximity.py",)),
    ("coscientist.tournament", ("/coscientist/tournament/",)),
    ("coscientist (scheduler and the rest)", ("/coscientist/",)),
    ("agents", ("/agents/",)),
    ("prompt rendering: jinja2", ("/jinja2/", "<template>")),
    ("openai SDK", ("/openai/",)),
    ("http client: httpx2/httpcore/h11/anyio streams", ("/httpx", "/httpcore", "/h11/")),
    ("pydantic", ("/pydantic", "pydantic_core")),
    ("sqlalchemy", ("/sqlalchemy/", "/sqlmodel/", "sqlite3")),
    ("langgraph/langchain", ("/langgraph/", "/langchain")),
    ("tenacity", ("/tenacity/",)),
    ("event loop: asyncio/anyio", ("/asyncio/", "/anyio/", "/selectors.py", "/sniffio/")),
    ("json", ("/json/", "_json")),
    ("hashlib", ("_hashlib", "hashlib")),
    ("threads and locks", ("threading.py", "_thread", "queue.py", "SimpleQueue")),
)


def _component(filename: str, name: str) -> str:
    where = filename if filename != "~" else name
    for component, fragments in _COMPONENTS:
        if any(f in where for f in fragments):
            return component
    return "other (stdlib, builtins)"


def summarise(profile: cProfile.Profile, top: int = 12) -> dict[str, Any]:
    """Own time per component (seconds, largest first) and the functions with most own time."""
    stats = pstats.Stats(profile)
    table: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    by_component: dict[str, float] = {}
    rows: list[tuple[float, float, int, str]] = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in table.items():
        component = _component(filename, name)
        by_component[component] = by_component.get(component, 0.0) + tottime
        short = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        rows.append((tottime, cumtime, calls, f"{short}:{line}({name})"))
    rows.sort(reverse=True)
    total = sum(by_component.values())
    return {
        "profiled_s": round(total, 3),
        "by_component_s": {
            k: round(v, 3)
            for k, v in sorted(by_component.items(), key=lambda kv: -kv[1])
            if v >= 0.005
        },
        "top_own_time": [
            {"function": where, "own_s": round(own, 3), "cum_s": round(cum, 3), "calls": calls}
            for own, cum, calls, where in rows[:top]
        ],
    }
