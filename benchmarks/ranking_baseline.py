"""A plain co-scientist loop, as a baseline at a fixed budget of model calls.

What a simple peer does (jataware/open-coscientist's loop, in outline): generate
a pool, review every hypothesis once, run an Elo tournament of random pairs in a
random order, evolve the top 8, review the children, and repeat the tournament
and evolution once more. It talks to the same simulator as the sessions, with
the same kinds of calls (each one model call), so the hidden qualities and the
judge are the same: only the way the budget is spent differs.

Budget of 500 calls: 64 generations + 64 reviews, then three tournaments
(140, 100 and the rest of the matches) separated by two rounds of 8 evolutions
+ 8 reviews. It reports the top 8 of its final Elo ranking.
"""

from __future__ import annotations

import json
import random
from typing import Any

import anyio
import httpx
from hidden_quality import title_tag

GOAL = "Find mechanisms by which gut microbes modulate tumour immunity"
ELO_K = 32.0
POOL = 64
EVOLVE_TOP = 8
CONCURRENCY = 32

_HYPOTHESIS_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 8, "maxLength": 100},
        "statement": {"type": "string", "minLength": 20, "maxLength": 360},
    },
    "required": ["title", "statement"],
}
_REVIEW_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string", "maxLength": 240}, "passed": {"type": "boolean"}},
}
_JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "winner": {"type": "integer", "enum": [1, 2]}},
}


class Baseline:
    """One run of the plain loop against the simulator at `url`."""

    def __init__(self, url: str, seed: int, budget: int = 500) -> None:
        self.url = url.rstrip("/") + "/chat/completions"
        self.rng = random.Random(f"baseline:{seed}")
        self.budget = budget
        self.calls = 0
        self.titles: dict[str, str] = {}  # id -> title (with the simulator's tag)
        self.elo: dict[str, float] = {}
        self._limit = anyio.CapacityLimiter(CONCURRENCY)

    async def _ask(
        self, client: httpx.AsyncClient, agent: str, user: str, schema: dict[str, Any]
    ) -> Any:
        self.calls += 1
        body = {
            "model": "sim-model",
            "messages": [
                {"role": "system", "content": f"You are the {agent} agent of a co-scientist."},
                {"role": "user", "content": f"Research goal:\n{GOAL}\n\n{user}"},
            ],
            "response_format": {"type": "json_schema", "json_schema": {"schema": schema}},
        }
        async with self._limit:
            response = await client.post(self.url, json=body, timeout=60)
        return json.loads(response.json()["choices"][0]["message"]["content"])

    async def _many(self, jobs: list[Any]) -> list[Any]:
        results: list[Any] = [None] * len(jobs)

        async def one(i: int) -> None:
            results[i] = await jobs[i]()

        async with anyio.create_task_group() as tg:
            for i in range(len(jobs)):
                tg.start_soon(one, i)
        return results

    def _add(self, answer: dict[str, Any]) -> str:
        hid = f"b{len(self.titles):03d}"
        self.titles[hid] = str(answer["title"])
        self.elo[hid] = 1200.0
        return hid

    async def _generate(self, client: httpx.AsyncClient, count: int) -> list[str]:
        def job() -> Any:
            return self._ask(client, "Generation", "Propose a hypothesis.", _HYPOTHESIS_SCHEMA)

        return [self._add(a) for a in await self._many([job] * count)]

    async def _review(self, client: httpx.AsyncClient, ids: list[str]) -> None:
        def job(hid: str) -> Any:
            return lambda: self._ask(
                client, "Reflection", f"Review:\nTitle: {self.titles[hid]}", _REVIEW_SCHEMA
            )

        await self._many([job(h) for h in ids])

    async def _tournament(self, client: httpx.AsyncClient, matches: int) -> None:
        """Random pairs in a random order, judged concurrently, Elo applied in arrival order."""
        ids = list(self.elo)

        def job() -> Any:
            first, second = self.rng.sample(ids, 2)

            async def run() -> None:
                user = (
                    f"Hypothesis 1:\nTitle: {self.titles[first]}\n\n"
                    f"Hypothesis 2:\nTitle: {self.titles[second]}\n"
                )
                answer = await self._ask(client, "Ranking", user, _JUDGE_SCHEMA)
                winner, loser = (first, second) if answer["winner"] == 1 else (second, first)
                expected = 1.0 / (1.0 + 10.0 ** ((self.elo[loser] - self.elo[winner]) / 400.0))
                self.elo[winner] += ELO_K * (1.0 - expected)
                self.elo[loser] -= ELO_K * (1.0 - expected)

            return run

        await self._many([job() for _ in range(matches)])

    async def _evolve(self, client: httpx.AsyncClient) -> list[str]:
        top = self.ranking()[:EVOLVE_TOP]

        def job(hid: str) -> Any:
            user = f"Existing hypothesis 1:\nTitle: {self.titles[hid]}\n"
            return lambda: self._ask(client, "Evolution", user, _HYPOTHESIS_SCHEMA)

        children = [self._add(a) for a in await self._many([job(h) for h in top])]
        await self._review(client, children)
        return children

    def ranking(self) -> list[str]:
        return sorted(self.elo, key=self.elo.__getitem__, reverse=True)

    async def run(self) -> list[str | None]:
        """The tags of its final top 8, best first."""
        async with httpx.AsyncClient(trust_env=False) as client:
            await self._review(client, await self._generate(client, POOL))
            evolutions = 2 * 2 * EVOLVE_TOP  # an evolution and a review per child, twice
            matches = self.budget - self.calls - evolutions
            await self._tournament(client, matches * 7 // 17)
            await self._evolve(client)
            await self._tournament(client, matches * 5 // 17)
            await self._evolve(client)
            await self._tournament(client, self.budget - self.calls)
        return [title_tag(self.titles[h]) for h in self.ranking()[:EVOLVE_TOP]]
