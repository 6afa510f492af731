"""Kept for imports: ModelTimeoutError lives in coscientist.errors with the rest."""

from __future__ import annotations

from coscientist.errors import ModelTimeoutError

__all__ = ["ModelTimeoutError"]
