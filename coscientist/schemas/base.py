"""Ids, timestamps and the frozen base model every schema module shares."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict


def utcnow() -> datetime:
    return datetime.now(UTC)


_ids = random.Random()  # seeded from os.urandom, and again in a forked child


def _reseed_ids() -> None:
    _ids.seed()


os.register_at_fork(after_in_child=_reseed_ids)


def new_id() -> str:
    """Short random ids: unique enough per store, readable in a terminal.

    Drawn from a generator seeded once from the OS (48 bits), not a uuid4 per id: an
    os.urandom call per task showed up in the scheduler's profile."""
    return f"{_ids.getrandbits(48):012x}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
