"""One exception hierarchy. The CLI maps every CoscientistError to exit code 2."""

from __future__ import annotations


class CoscientistError(Exception):
    """Base of every error a user can act on; the message says what to do."""


class ConfigError(CoscientistError):
    """Bad settings: an unknown model spec, a malformed URL, a negative limit."""


class StoreError(CoscientistError):
    """The store cannot be opened or written."""


class StoreBusyError(StoreError):
    """A transient store failure (a locked SQLite file, a dropped PostgreSQL connection).

    The scheduler retries it with backoff; it never ends a run by itself.
    """


class NotFoundError(CoscientistError):
    """A session, hypothesis or task id that the store does not hold."""


class ModelError(CoscientistError):
    """A model backend failed for good (after retries)."""


class ModelUnavailableError(ModelError):
    """A backend that cannot run here (no GPU for vLLM, a missing GGUF file)."""


class ModelOutputError(ModelError):
    """The model kept answering with output that does not validate."""


class ModelTransportError(ModelError):
    """HTTP or process errors talking to a model, after backoff."""


class ModelTimeoutError(ModelTransportError):
    """A request that timed out: retried like any transport error, recorded as "timeout"."""


class ExportError(CoscientistError):
    """A report could not be written where asked."""


class LeaseLostError(CoscientistError):
    """A task's lease was taken by another owner; its result must not be applied."""
