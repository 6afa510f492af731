"""The default embedded model (SmolLM2-135M via llama.cpp) runs a tiny session end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from coscientist.config import Limits, Settings
from coscientist.session import CoScientist

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def test_embedded_model_runs_a_tiny_session(tmp_path: Path) -> None:
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'e.db'}",
        model="embedded",
        threads=1,
        max_output_tokens=256,
        seed=1,
    )
    with CoScientist(settings) as cs:
        session = cs.start("Why do some bacteria survive antibiotics without resistance genes?")
        # Two calls for the intake (the goal's safety review, the research plan), six for work.
        summary = await session.run(Limits(max_calls=8))
        stats = cs.store.call_stats(session.id)
        hypotheses = cs.store.list_hypotheses(session.id)
    assert summary.stop_reason == "call budget"
    assert stats["calls"] >= 8
    assert stats["by_role"]["intake"]["calls"] >= 2
    assert stats["tokens_out"] > 0
    assert hypotheses, f"no hypothesis from six embedded calls: {stats['by_outcome']}"
    assert all(h.title.strip() and h.statement.strip() for h in hypotheses)
