"""Typed errors of the provider.

Every class subclasses ``AirflowException`` so that the seed's ``except AirflowException`` keeps working,
while users who want finer control (Airflow 3.3 ``retry_policy``, their own ``try``) can catch one kind of
failure: a rate limit is worth retrying later, a bad token is not.

Messages name the HTTP method, the path, the status, the API's own message and the request id. They never
contain the API token: the client never formats request headers into anything.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

__all__ = [
    "OVHCloudAIAuthenticationError",
    "OVHCloudAIConfigurationError",
    "OVHCloudAIError",
    "OVHCloudAIInvalidRequestError",
    "OVHCloudAINotFoundError",
    "OVHCloudAIRateLimitedError",
    "OVHCloudAIRequestError",
    "OVHCloudAIResponseError",
    "OVHCloudAIServerError",
    "OVHCloudAITimeoutError",
    "OVHCloudAITrainingJobFailedError",
    "OVHCloudAITrainingJobTimeoutError",
    "OVHCloudAIUnreachableError",
    "OVHCloudAIValidationError",
]


class OVHCloudAIError(AirflowException):
    """Base class of every error raised by this provider."""


class OVHCloudAIConfigurationError(OVHCloudAIError):
    """The connection or hook arguments cannot work (missing token, unknown region, bad base URL)."""


class OVHCloudAIValidationError(OVHCloudAIError, AirflowFailException):
    """Bad input caught before any paid call. Retrying the task cannot fix it, so it fails without retry."""


class OVHCloudAIRequestError(OVHCloudAIError):
    """An HTTP call to an OVHcloud AI API failed. Carries what a user needs to understand or report it."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        method: str = "",
        path: str = "",
        status: int | None = None,
        api_message: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.method = method
        self.path = path
        self.status = status
        self.api_message = api_message
        self.request_id = request_id
        self.retry_after = retry_after


class OVHCloudAIAuthenticationError(OVHCloudAIRequestError):
    """401 or 403: the token is wrong, revoked, scoped elsewhere or bound to another region."""


class OVHCloudAINotFoundError(OVHCloudAIRequestError):
    """404: unknown job id, model name or path."""


class OVHCloudAIInvalidRequestError(OVHCloudAIRequestError):
    """Any other 4xx (400, 402, 409, 413, 422, ...): the API refused the request as it is."""


class OVHCloudAIRateLimitedError(OVHCloudAIRequestError):
    """429 still answered after the retry budget was spent."""


class OVHCloudAIServerError(OVHCloudAIRequestError):
    """5xx still answered after the retry budget was spent."""


class OVHCloudAIUnreachableError(OVHCloudAIRequestError):
    """No HTTP answer at all: connection refused, DNS failure, connection dropped."""


class OVHCloudAITimeoutError(OVHCloudAIUnreachableError):
    """The API did not answer within the hook's timeout."""


class OVHCloudAIResponseError(OVHCloudAIRequestError):
    """The API answered 2xx with a body we cannot use (truncated JSON, an HTML page, a wrong shape)."""


class OVHCloudAITrainingJobFailedError(OVHCloudAIError):
    """A training job reached a failure state. Carries the job so callers can report state and exit code."""

    def __init__(self, message: str, *, job_id: str = "", state: str = "", job: dict | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.state = state
        self.job = job or {}


class OVHCloudAITrainingJobTimeoutError(OVHCloudAIError):
    """Waiting for a training job took longer than allowed."""

    def __init__(self, message: str, *, job_id: str = "", state: str = "") -> None:
        super().__init__(message)
        self.job_id = job_id
        self.state = state
