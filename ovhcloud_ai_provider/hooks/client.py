"""The one HTTP client under both hooks: session, timeouts, retries, typed errors, per-attempt metrics.

Retries are urllib3's ``Retry`` (exponential backoff with jitter, ``Retry-After`` honoured), not a loop of
our own. What is retried is decided per service, by HTTP method:

- AI Endpoints: GET and POST. Inference POSTs carry no server-side state, so re-sending one after a 429 or a
  503 cannot create anything twice.
- AI Training: GET, PUT and DELETE. ``POST /v1/job`` is never blindly re-sent after the request may have
  reached the server: a second POST would start a second paid GPU job. (A connection *refused* is still
  retried: urllib3 retries connect errors for every method, since nothing was sent.) The operators make
  submission idempotent with labels instead.

Every attempt, retried or final, is reported to ``observability.metrics.record_http_attempt`` so that
request totals in Prometheus equal what the API actually received.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog

from ovhcloud_ai_provider.exceptions import (
    OVHCloudAIAuthenticationError,
    OVHCloudAIInvalidRequestError,
    OVHCloudAINotFoundError,
    OVHCloudAIRateLimitedError,
    OVHCloudAIRequestError,
    OVHCloudAIResponseError,
    OVHCloudAIServerError,
    OVHCloudAITimeoutError,
    OVHCloudAIUnreachableError,
)

if TYPE_CHECKING:
    import requests
    from urllib3.util.retry import Retry

log = structlog.get_logger(__name__)

SERVICE_NAMES = {"ai_endpoints": "Endpoints", "ai_training": "Training"}
RETRYABLE_METHODS = {
    "ai_endpoints": frozenset({"GET", "HEAD", "POST"}),
    "ai_training": frozenset({"GET", "HEAD", "PUT", "DELETE"}),
}
REQUEST_ID_HEADERS = ("x-request-id", "x-ovh-queryid", "request-id", "x-amzn-requestid")
_MAX_SNIPPET = 300


@dataclass(frozen=True)
class RetryConfig:
    """Retry budget and backoff. Overridable per connection through extras of the same names."""

    max_retries: int = 5
    backoff_factor: float = 0.5
    backoff_max: float = 60.0
    backoff_jitter: float = 0.5
    max_retry_after: float = 120.0
    retry_statuses: tuple[int, ...] = (429, 502, 503, 504)

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any], base: RetryConfig | None = None) -> RetryConfig:
        """Read ``max_retries``, ``backoff_factor``, ``backoff_max``, ``backoff_jitter`` and ``max_retry_after``
        from a connection's extra."""
        base = base or cls()
        values: dict[str, Any] = {}
        for name, kind in (
            ("max_retries", int),
            ("backoff_factor", float),
            ("backoff_max", float),
            ("backoff_jitter", float),
            ("max_retry_after", float),
        ):
            if name in extra and extra[name] not in (None, ""):
                try:
                    values[name] = kind(extra[name])
                except (TypeError, ValueError):
                    continue
        return RetryConfig(**{**base.__dict__, **values})


@dataclass
class _Attempt:
    """What the retry hook needs to report an attempt; set for the duration of one logical request."""

    service: str
    method: str
    route: str
    model: str | None
    operation: str | None
    started: float = field(default_factory=time.monotonic)
    number: int = 1


_CURRENT_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "ovhcloud_ai_attempt", default=None
)


def _record_attempt(attempt: _Attempt, status: int | None, error_type: str | None) -> None:
    from ovhcloud_ai_provider.observability import metrics

    metrics.record_http_attempt(
        service=attempt.service,
        method=attempt.method,
        route=attempt.route,
        status=status,
        error_type=error_type,
        duration_s=time.monotonic() - attempt.started,
        model=attempt.model,
        operation=attempt.operation,
    )


def _build_retry(config: RetryConfig, methods: frozenset[str]) -> Retry:
    from urllib3.util.retry import Retry

    class ObservedRetry(Retry):
        """urllib3 ``Retry`` that reports each attempt it retries and caps ``Retry-After``."""

        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[no-untyped-def,override]
            new = super().increment(method, url, response, error, _pool, _stacktrace)
            # Only reached when another attempt follows; the final attempt is reported by the client.
            attempt = _CURRENT_ATTEMPT.get()
            if attempt is not None:
                status = response.status if response is not None else None
                error_type = type(error).__name__ if error is not None else None
                _record_attempt(attempt, status, error_type)
                log.info(
                    "http.request.retry",
                    service=attempt.service,
                    method=attempt.method,
                    route=attempt.route,
                    status=status,
                    error_type=error_type,
                    attempt=attempt.number,
                )
                attempt.number += 1
            return new

        def get_retry_after(self, response):  # type: ignore[no-untyped-def]
            value = super().get_retry_after(response)
            return None if value is None else min(value, config.max_retry_after)

        def sleep(self, response=None):  # type: ignore[no-untyped-def]
            super().sleep(response)
            attempt = _CURRENT_ATTEMPT.get()
            if attempt is not None:
                attempt.started = time.monotonic()

    return ObservedRetry(
        total=config.max_retries,
        connect=config.max_retries,
        read=config.max_retries,
        status=config.max_retries,
        other=0,
        allowed_methods=methods,
        status_forcelist=config.retry_statuses,
        backoff_factor=config.backoff_factor,
        backoff_max=config.backoff_max,
        backoff_jitter=config.backoff_jitter,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


class OVHCloudAIClient:
    """A ``requests.Session`` bound to one API base URL and token, shared by every call of a hook."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        token: str,
        timeout: float,
        retry: RetryConfig | None = None,
        user_agent: str | None = None,
    ) -> None:
        if service not in SERVICE_NAMES:
            raise ValueError(f"unknown service {service!r}")
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryConfig()
        self._token = token
        self._user_agent = user_agent or _default_user_agent()
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"OVHCloudAIClient(service={self.service!r}, base_url={self.base_url!r})"

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(max_retries=_build_retry(self.retry, RETRYABLE_METHODS[self.service]))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {
                    "Authorization": f"Bearer {self._token}",
                    "User-Agent": self._user_agent,
                    "Accept": "application/json",
                }
            )
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # ------------------------------------------------------------------ requests
    def request(
        self,
        method: str,
        path: str,
        *,
        route: str | None = None,
        json_body: Any = None,
        params: Any = None,
        model: str | None = None,
        operation: str | None = None,
        stream: bool = False,
        accept: str | None = None,
    ) -> requests.Response:
        """Send one logical request (urllib3 may retry it) and return a 2xx response or raise a typed error."""
        import requests

        method = method.upper()
        route = route or path
        url = f"{self.base_url}{path}"
        attempt = _Attempt(self.service, method, route, model, operation)
        token = _CURRENT_ATTEMPT.set(attempt)
        headers = {"Accept": accept} if accept else None
        try:
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json_body,
                    params=params,
                    timeout=self.timeout,
                    stream=stream,
                    headers=headers,
                )
            except requests.exceptions.RequestException as exc:
                _record_attempt(attempt, None, type(exc).__name__)
                if _is_timeout(exc):
                    raise self._error(
                        OVHCloudAITimeoutError, method, path, None, f"no answer within {self.timeout:g}s"
                    ) from None
                raise self._error(
                    OVHCloudAIUnreachableError, method, path, None, _describe_network_error(exc)
                ) from None
            _record_attempt(attempt, response.status_code, None)
        finally:
            _CURRENT_ATTEMPT.reset(token)
        if response.status_code >= 400:
            raise self._error_from_response(method, path, response)
        return response

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request`, and decode a JSON body. An empty body (204) gives ``{}``."""
        response = self.request(method, path, **kwargs)
        return self.decode_json(method, path, response)

    def request_text(self, method: str, path: str, **kwargs: Any) -> str:
        response = self.request(method, path, accept="text/plain, */*", **kwargs)
        try:
            return response.text
        except Exception as exc:  # body cut while reading
            raise self._error(
                OVHCloudAIResponseError, method, path, response.status_code, f"body unreadable: {exc}"
            ) from None

    def stream_lines(self, method: str, path: str, **kwargs: Any) -> Iterator[str]:
        """Send a streamed request and yield decoded lines; a cut stream becomes a typed error."""
        import requests

        response = self.request(method, path, stream=True, accept="text/event-stream", **kwargs)
        try:
            for raw in response.iter_lines(decode_unicode=False):
                yield raw.decode("utf-8", errors="replace")
        except requests.exceptions.RequestException as exc:
            raise self._error(
                OVHCloudAIUnreachableError, method, path, response.status_code, f"stream interrupted: {exc}"
            ) from None
        finally:
            response.close()

    def decode_json(self, method: str, path: str, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            snippet = _snippet(response.text)
            raise self._error(
                OVHCloudAIResponseError,
                method,
                path,
                response.status_code,
                f"expected a JSON body, got {_content_kind(response)}: {snippet!r}",
                request_id=_request_id(response),
            ) from None
        except Exception as exc:  # e.g. ChunkedEncodingError while reading the body
            raise self._error(
                OVHCloudAIResponseError, method, path, response.status_code, f"body unreadable: {exc}"
            ) from None

    # ------------------------------------------------------------------ errors
    def _error(
        self,
        kind: type[OVHCloudAIRequestError],
        method: str,
        path: str,
        status: int | None,
        detail: str,
        *,
        request_id: str | None = None,
        api_message: str | None = None,
        retry_after: float | None = None,
    ) -> OVHCloudAIRequestError:
        status_part = f"HTTP {status}" if status is not None else "no HTTP answer"
        message = (
            f"Request to OVHcloud AI {SERVICE_NAMES[self.service]} failed: "
            f"{method} {path} -> {status_part}: {detail}"
        )
        if request_id:
            message += f" (request id: {request_id})"
        return kind(
            self.scrub(message),
            service=self.service,
            method=method,
            path=path,
            status=status,
            api_message=self.scrub(api_message) if api_message else None,
            request_id=request_id,
            retry_after=retry_after,
        )

    def _error_from_response(
        self, method: str, path: str, response: requests.Response
    ) -> OVHCloudAIRequestError:
        status = response.status_code
        api_message = _api_message(response)
        kind: type[OVHCloudAIRequestError]
        if status in (401, 403):
            kind = OVHCloudAIAuthenticationError
        elif status == 404:
            kind = OVHCloudAINotFoundError
        elif status == 429:
            kind = OVHCloudAIRateLimitedError
        elif status >= 500:
            kind = OVHCloudAIServerError
        else:
            kind = OVHCloudAIInvalidRequestError
        retry_after = _retry_after(response)
        detail = api_message
        if status == 429:
            retried = method in RETRYABLE_METHODS[self.service]
            detail += f" (rate limited after {self.retry.max_retries} retries" if retried else " (rate limited; not retried"
            detail += f"; Retry-After {retry_after:g}s)" if retry_after is not None else ")"
        return self._error(
            kind,
            method,
            path,
            status,
            detail,
            request_id=_request_id(response),
            api_message=api_message,
            retry_after=retry_after,
        )

    def scrub(self, text: str) -> str:
        """Belt and braces: never let the token through, even if an API echoed it back."""
        return text.replace(self._token, "***") if self._token else text


# ---------------------------------------------------------------------- helpers
def _default_user_agent() -> str:
    from ovhcloud_ai_provider import __version__

    return f"airflow-provider-ovhcloud-ai/{__version__}"


def _request_id(response: requests.Response) -> str | None:
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _content_kind(response: requests.Response) -> str:
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip()
    return ctype or "no content type"


def _snippet(text: str) -> str:
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:_MAX_SNIPPET] + ("..." if len(text) > _MAX_SNIPPET else "")


def _api_message(response: requests.Response) -> str:
    """The API's own words: OVH ``{"message"}``, OpenAI ``{"error": {...}}``, or a cleaned body snippet."""
    try:
        text = response.text
    except Exception:
        return "body unreadable"
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "")
            code = error.get("code") or error.get("type")
            if message:
                return f"{message} [{code}]" if code else message
        elif isinstance(error, str) and error:
            return error
        for key in ("message", "detail", "msg"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    snippet = _snippet(text or "")
    if not snippet:
        return f"empty {_content_kind(response)} body"
    return f"{_content_kind(response)} body: {snippet}"


def _is_timeout(exc: BaseException) -> bool:
    """requests reports a read timeout whose retries ran out as a ConnectionError wrapping urllib3's
    MaxRetryError(ReadTimeoutError); look through the chain for any timeout."""
    import requests
    from urllib3.exceptions import NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError):  # subclasses ConnectTimeoutError, yet is a refusal
            return False
        if isinstance(current, (requests.exceptions.Timeout, Urllib3Timeout, TimeoutError)):
            return True
        if isinstance(current, BaseException):
            pending.extend([current.__cause__, current.__context__, *current.args])
        reason = getattr(current, "reason", None)
        if reason is not None:
            pending.append(reason)
    return False


def _describe_network_error(exc: Exception) -> str:
    text = str(exc)
    for marker, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "host name not resolved"),
        ("nodename nor servname", "host name not resolved"),
        ("RemoteDisconnected", "connection closed by the server without an answer"),
        ("Connection aborted", "connection aborted"),
        ("Max retries exceeded", "unreachable after retries"),
    ):
        if marker in text:
            return f"{words} ({type(exc).__name__})"
    return f"{type(exc).__name__}: {_snippet(text)}"
