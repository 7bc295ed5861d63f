"""Error shapes of the two OVH APIs, which share one host in the emulator.

AI Training answers ``{"message": ...}`` (the SDK's ``Error`` model); AI Endpoints answers OpenAI-style
``{"error": {"message", "type", "code"}}``. Which one applies is decided by the path (``api_family``),
so even framework-level 404/405 answers have the shape a real client would meet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

#: Path prefixes served by the AI Training API; everything else under /v1 is AI Endpoints.
TRAINING_PREFIXES = ("/v1/job", "/v1/me", "/v1/capabilities", "/v1/token", "/v1/data")
CONTROL_PREFIX = "/_emulator"


def api_family(path: str) -> str:
    """Return ``"control"``, ``"training"`` or ``"endpoints"`` for a request path."""
    if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
        return "control"
    if any(path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in TRAINING_PREFIXES):
        return "training"
    return "endpoints"


class TrainingAPIError(Exception):
    """An AI Training error answer: HTTP status + ``{"message": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class EndpointsAPIError(Exception):
    """An AI Endpoints (OpenAI-style) error answer."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.headers = dict(headers or {})


def training_error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """JSON ``{"message"}`` response of the AI Training API."""
    return JSONResponse({"message": message}, status_code=status, headers=dict(headers or {}))


def endpoints_error_body(message: str, type_: str, code: str | int | None) -> dict[str, Any]:
    """OpenAI error envelope; only ``message`` and ``code`` are evidenced for OVH, ``type`` is OpenAI's."""
    return {"error": {"message": message, "type": type_, "code": code}}


def endpoints_error_response(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """JSON OpenAI-style error response of the AI Endpoints API."""
    return JSONResponse(
        endpoints_error_body(message, type_, code), status_code=status, headers=dict(headers or {})
    )


def error_for_family(family: str, status: int, message: str) -> Response:
    """A generic error in the shape of the API family the path belongs to."""
    if family == "endpoints":
        type_ = "server_error" if status >= 500 else "invalid_request_error"
        return endpoints_error_response(status, message, type_=type_, code=status)
    return training_error_response(status, message)


async def handle_training_error(request: Request, exc: Exception) -> Response:
    """FastAPI exception handler for ``TrainingAPIError``."""
    assert isinstance(exc, TrainingAPIError)
    return training_error_response(exc.status, exc.message)


async def handle_endpoints_error(request: Request, exc: Exception) -> Response:
    """FastAPI exception handler for ``EndpointsAPIError``."""
    assert isinstance(exc, EndpointsAPIError)
    return endpoints_error_response(
        exc.status, exc.message, type_=exc.type, code=exc.code, headers=exc.headers
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Unknown path (404) or wrong method (405), answered in the family's own error shape."""
    assert isinstance(exc, StarletteHTTPException)
    family = api_family(request.url.path)
    message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
    response = error_for_family(family, exc.status_code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response
