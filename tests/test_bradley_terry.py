"""Bradley-Terry fit and bootstrap intervals."""

from __future__ import annotations

import math
import random
import time

import pytest

from coscientist.errors import CoscientistError
from coscientist.tournament import bradley_terry


def simulate(strength: dict[str, float], rounds: int, seed: int) -> list[tuple[str, str]]:
    """Every pair plays `rounds` times; outcomes follow the model."""
    rng = random.Random(seed)
    names = sorted(strength)
    outcomes = []
    for _ in range(rounds):
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                p = bradley_terry.win_probability(strength[a], strength[b])
                outcomes.append((a, b) if rng.random() < p else (b, a))
    return outcomes


def test_recovers_a_known_order() -> None:
    truth = {f"h{i}": 0.7 * i for i in range(8)}
    fitted = bradley_terry.fit(simulate(truth, rounds=30, seed=1))
    assert sorted(fitted, key=fitted.__getitem__) == sorted(truth, key=truth.__getitem__)
    assert abs(sum(fitted.values())) < 1e-9  # centred on 0
    gaps = [fitted[f"h{i + 1}"] - fitted[f"h{i}"] for i in range(7)]
    assert 0.4 < sum(gaps) / len(gaps) < 1.0  # close to the true 0.7 despite the prior


def test_undefeated_and_winless_stay_finite() -> None:
    outcomes = [("champ", other) for other in ("a", "b", "c") for _ in range(5)]
    outcomes += [(other, "last") for other in ("a", "b", "c") for _ in range(5)]
    outcomes += [("a", "b"), ("b", "c"), ("c", "a")]
    fitted = bradley_terry.fit(outcomes)
    assert all(math.isfinite(value) for value in fitted.values())
    assert max(fitted, key=fitted.__getitem__) == "champ"
    assert min(fitted, key=fitted.__getitem__) == "last"


def test_ids_without_matches_get_the_mean() -> None:
    fitted = bradley_terry.fit([("a", "b")], ids=["a", "b", "idle"])
    assert fitted["idle"] == pytest.approx(0.0, abs=1e-6)
    assert fitted["a"] > 0 > fitted["b"]
    assert bradley_terry.fit([], ids=["x", "y"]) == {"x": 0.0, "y": 0.0}


def test_elo_scale() -> None:
    assert bradley_terry.to_elo(0.0) == 1200.0
    assert bradley_terry.to_elo(math.log(10.0)) == pytest.approx(1600.0)


def test_rejects_bad_input() -> None:
    with pytest.raises(CoscientistError):
        bradley_terry.fit([("a", "a")])
    with pytest.raises(CoscientistError):
        bradley_terry.fit([("a", "b")], prior=0.0)


def test_fit_is_fast_on_10000_matches() -> None:
    rng = random.Random(4)
    names = [f"h{i}" for i in range(1000)]
    outcomes = [(a, b) for a, b in (rng.sample(names, 2) for _ in range(10_000))]
    start = time.perf_counter()
    fitted = bradley_terry.fit(outcomes)
    assert time.perf_counter() - start < 3.0  # sanity bound; about 0.1 s here
    assert len(fitted) == 1000
