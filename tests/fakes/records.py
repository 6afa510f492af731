"""A provenance recorder for ModelClient tests: keeps every CallRecord it is given."""

from __future__ import annotations

from coscientist.schemas import CallRecord


class Records(list[CallRecord]):
    async def __call__(self, record: CallRecord) -> None:
        self.append(record)

    @property
    def outcomes(self) -> list[str]:
        return [r.outcome for r in self]
