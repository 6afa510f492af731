"""`show` reads one state: a single judge fit feeds its leaderboard, confidence and method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coscientist.cli_show import show_session
from coscientist.config import Limits, Settings
from coscientist.session import CoScientist
from coscientist.tournament import judge_fit

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("as_json", [True, False])
async def test_show_fits_the_judge_model_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    as_json: bool,
) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 's.db'}", model="scripted", seed=4)
    with CoScientist(settings) as cs:
        session = cs.start("Why do some tumours resist therapy?")
        summary = await session.run(Limits(max_calls=160))
        assert summary.tasks_failed == 0 and summary.matches > 0, summary
        fits: list[int] = []
        real = judge_fit.fit

        def counted(*args: Any, **kwargs: Any) -> Any:
            fits.append(1)
            return real(*args, **kwargs)

        monkeypatch.setattr(judge_fit, "fit", counted)
        capsys.readouterr()
        show_session(cs, session, top=3, as_json=as_json)
        printed = capsys.readouterr().out
        assert len(fits) == 1
        if as_json:
            shown = json.loads(printed)
            assert len(shown["leaderboard"]) == 3
            assert shown["leaderboard"][0]["rated_by"] == "judge fit"
            assert shown["judge_audit"] is not None
            # The board shown is the head of the one that fed the method's parts.
            assert [e["id"] for e in shown["leaderboard"]] == [e.id for e in session.leaderboard(3)]
        else:
            assert session.leaderboard(1)[0].title.split()[0] in printed
