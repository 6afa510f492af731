"""The TUI names each role's model when a session's roles use more than one (Pilot-driven).

The sessions are written straight to a real SQLite store, as `run --judge-model` stores
them; the TUI only reads them, so no model is called and no server is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coscientist.config import RoleModel
from coscientist.schemas import SessionInfo
from coscientist.store.repository import Store
from coscientist.tui.app import BrowseApp
from coscientist.tui.widgets import SessionHeader
from tests.tui_support import WHEN, rendered, screen_text, wait_for

pytestmark = pytest.mark.anyio

SIZE = (160, 24)
POLL = 5.0  # slower than the test: Pilot waits for idle
WRITER = "http://writer.example:8000/v1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path}/s.db")
    yield s
    s.close()


def make_session(store: Store, session_id: str, roles: dict[str, RoleModel]) -> None:
    store.create_session(
        SessionInfo(
            id=session_id,
            goal="Why do some tumours resist therapy?",
            model_spec="openai-compatible:writer-model",
            base_url=WRITER,
            seed=1,
            roles=roles,
            created_at=WHEN,
            updated_at=WHEN,
        )
    )


async def header_of(store: Store, session_id: str) -> tuple[str, str]:
    """The header's text once loaded, and the painted screen's characters."""
    app = BrowseApp(store, session_id, poll_seconds=POLL)
    async with app.run_test(size=SIZE):
        header = app.screen.query_one(SessionHeader)
        await wait_for(lambda: session_id in rendered(header), what="the session header")
        await wait_for(
            lambda: "writer-model" in screen_text(app.export_screenshot()), what="the paint"
        )
        return rendered(header), screen_text(app.export_screenshot())


async def test_the_header_names_the_judge_and_other_roles_models(store: Store) -> None:
    roles = {
        "ranking": RoleModel(
            model="openai-compatible:judge-model",
            base_url="http://bob:url-password@judge.example/v1",
        ),
        # the session's spec on another server: named with its URL, or it would look the same
        "evolution": RoleModel(base_url="http://spare.example/v1"),
        "graph": RoleModel(base_url="http://spare.example/v1"),
    }
    make_session(store, "5e55a00000r1", roles)
    text, painted = await header_of(store, "5e55a00000r1")
    line = next(row for row in text.splitlines() if "5e55a00000r1" in row)
    assert "model openai-compatible:writer-model" in line
    assert "judge: openai-compatible:judge-model" in line
    assert "evolution, graph: openai-compatible:writer-model @ http://spare.example/v1" in line
    assert line.index("writer-model") < line.index("judge:") < line.index("status")
    # roles on the session's model are not listed; the URL's password never shows
    for role in ("generation", "reflection", "meta_review", "ranking"):
        assert f"{role}:" not in line
    assert "url-password" not in text + painted
    assert "judge: openai-compatible:judge-model" in painted


async def test_a_session_on_one_model_shows_only_that_model(store: Store) -> None:
    # A role naming the session's own model and URL is still one model.
    roles = {"ranking": RoleModel(model="openai-compatible:writer-model", base_url=WRITER)}
    make_session(store, "5e55a00000r2", roles)
    text, _ = await header_of(store, "5e55a00000r2")
    line = next(row for row in text.splitlines() if "5e55a00000r2" in row)
    assert "model openai-compatible:writer-model  status" in line
    assert ":" not in line.split("writer-model", 1)[1].split("status", 1)[0]
