"""How often a session screen rereads the store: a slow read spaces the next one out."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coscientist.store.repository import Store
from coscientist.tui import session_screen
from coscientist.tui.app import BrowseApp
from coscientist.tui.data import load_snapshot
from coscientist.tui.session_screen import RELOAD_SHARE, reload_pause
from tests.tui_support import SESSION_ID, seed_store, wait_for

pytestmark = pytest.mark.anyio

SLOW_READ = 0.2  # seconds a read takes here


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path}/s.db")
    yield s
    s.close()


def test_the_pause_after_a_read_keeps_reads_to_their_share_of_a_core() -> None:
    assert reload_pause(0.0) == 0.0
    took = 0.4
    assert took / (took + reload_pause(took)) == pytest.approx(RELOAD_SHARE)


async def test_a_slow_read_is_not_repeated_at_every_tick(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_store(store)
    reads: list[float] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        reads.append(time.monotonic())
        time.sleep(SLOW_READ)
        return load_snapshot(*args, **kwargs)

    monkeypatch.setattr(session_screen, "load_snapshot", slow)
    # A stored session's screen rereads at every tick; ticks here come every 50 ms.
    app = BrowseApp(store, SESSION_ID, poll_seconds=0.05)
    async with app.run_test(size=(110, 32)):
        await wait_for(lambda: len(reads) >= 3, what="three reads", within=30.0)
    # Back to back, a read would start every 0.2-0.3 s; spaced for a quarter of a core, one
    # starts at least 0.8 s (the read and three times its length) after the one before. A
    # loaded machine only spaces them more.
    assert RELOAD_SHARE == 0.25
    gaps = [b - a for a, b in itertools.pairwise(reads)]
    assert min(gaps) >= 0.95 * SLOW_READ / RELOAD_SHARE, gaps
