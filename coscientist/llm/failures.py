"""Backend failures the client needs to tell apart beyond coscientist.errors."""

from __future__ import annotations

from coscientist.errors import ModelTransportError


class ModelTimeoutError(ModelTransportError):
    """A request that timed out: retried like any transport error, recorded as "timeout"."""
