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
    """A model backend failed for good (after retries).

    `outcome` names the cause in the call's provenance record (CallRecord.outcome).
    """

    outcome = "error"


class ModelUnavailableError(ModelError):
    """A backend that cannot run here (no GPU for vLLM, a missing GGUF file)."""

    outcome = "unavailable"


class ModelOutputError(ModelError):
    """The model kept answering with output that does not validate."""

    outcome = "invalid"


class ModelRefusedError(ModelError):
    """The server answered and refused the request (HTTP 4xx): asking again will not help."""

    outcome = "refused"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModelUnauthorizedError(ModelRefusedError):
    """HTTP 401 or 403: the key is missing, wrong or lacks access; no call can succeed."""

    outcome = "unauthorized"


class ModelTransportError(ModelError):
    """HTTP or process errors talking to a model, after backoff."""

    outcome = "transport_error"


class ModelTimeoutError(ModelTransportError):
    """A request that timed out: retried like any transport error, recorded as "timeout"."""

    outcome = "timeout"


class ModelUnreachableError(ModelTransportError):
    """No answer at all: connection refused, unknown host, TLS failure."""

    outcome = "unreachable"


class ModelRateLimitedError(ModelTransportError):
    """HTTP 429: retried after the server's Retry-After (seconds), when it gives one."""

    outcome = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelServerError(ModelTransportError):
    """HTTP 5xx: the server failed this request; another attempt may succeed."""

    outcome = "server_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModelMalformedResponseError(ModelTransportError):
    """An HTTP 200 whose body is not a chat completion (a proxy page, a cut connection)."""

    outcome = "malformed_response"


def endpoint_is_dead(exc: BaseException) -> bool:
    """Whether a failure says the endpoint as a whole is unusable, not just this one call.

    Unreachable, unauthorised, or an unknown path or model (404): a scheduler
    seeing a run of these stops instead of retrying task after task.
    """
    if isinstance(exc, ModelUnreachableError | ModelUnauthorizedError):
        return True
    return isinstance(exc, ModelRefusedError) and exc.status == 404


class ExportError(CoscientistError):
    """A report could not be written where asked."""


class LeaseLostError(CoscientistError):
    """A task's lease was taken by another owner; its result must not be applied."""


class GoalRefusedError(CoscientistError):
    """The research goal seeks serious harm: the session is refused, and nothing of it is kept."""
