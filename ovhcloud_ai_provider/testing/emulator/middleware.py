"""Outermost raw ASGI layer: request ids, the 2 MB body limit, fault injection and accounting.

It must be raw ASGI (not a Starlette ``BaseHTTPMiddleware``) and the outermost layer because dropping a
connection needs uvicorn's own ``send`` callable, whose owner holds the socket transport; it also has to see
every request, including the ones the app never handles (faulted, too large).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .accounting import DROPPED, LOGGED_BODY_LIMIT, RequestRecord
from .errors import api_family, endpoints_error_body
from .faults import FaultRule
from .state import EmulatorState

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Stop draining an oversized body after this many bytes (the connection is then left to close).
DRAIN_CAP = 64 * 1024 * 1024
UNMATCHED = "<unmatched>"


class ConnectionDropped(Exception):
    """Raised when the server cannot reach its transport to drop a connection cleanly (non-uvicorn)."""


@dataclass
class Captured:
    """A response produced by the app but not (yet) sent to the client."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


def resolve_route(app: Starlette, scope: Scope) -> str | None:
    """The path template (``/v1/job/{id}``) that serves this request; a method mismatch still names it."""
    partial: str | None = None
    for route in app.router.routes:
        match, _ = route.matches(scope)
        path = getattr(route, "path", None)
        if match == Match.FULL:
            return path
        if match == Match.PARTIAL and partial is None:
            partial = path
    return partial


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body, or ``None`` when empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def extract_model(data: Any, family: str) -> str | None:
    """The ``model`` of an inference body, for per-model accounting and fault scoping."""
    if family != "endpoints" or not isinstance(data, dict):
        return None
    model = data.get("model")
    return model if isinstance(model, str) else None


async def read_body(receive: Receive, scope: Scope, limit: int) -> tuple[bytes, bool]:
    """Read the whole body; if it exceeds ``limit``, drain it (so the client can read our 413) and say so."""
    declared = next((v for k, v in scope.get("headers", []) if k == b"content-length"), None)
    too_large = declared is not None and declared.isdigit() and int(declared) > limit
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        too_large = too_large or size > limit
        if not too_large:
            chunks.append(chunk)
        if size > DRAIN_CAP or not message.get("more_body", False):
            break
    return b"".join(chunks), too_large


def replay_receive(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the real one (disconnects)."""
    sent = False

    async def _receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return _receive


async def capture(app: ASGIApp, scope: Scope, receive: Receive) -> Captured:
    """Run the app and keep its response instead of sending it."""
    captured = Captured()
    parts: list[bytes] = []

    async def _send(message: Message) -> None:
        if message["type"] == "http.response.start":
            captured.status = message["status"]
            captured.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))

    await app(scope, receive, _send)
    captured.body = b"".join(parts)
    return captured


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
) -> None:
    """Send a complete response."""
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def drop_connection(raw_send: Send) -> None:
    """Close the socket without writing a byte: the client sees "connection closed without response".

    uvicorn's ``send`` is a bound method of its request cycle, which holds the transport; closing it and
    returning without a response start is the only way to get a genuine connection error client-side
    (raising would make uvicorn answer 500 instead).
    """
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("cannot reach the transport to drop the connection")
    transport.close()
    for _ in range(3):  # let connection_lost() run so uvicorn knows the client is gone
        await asyncio.sleep(0)


def fault_error_body(rule: FaultRule, family: str) -> tuple[bytes, str]:
    """Body and content type of an injected error: gateway-style HTML for 502/503/504, else API JSON."""
    try:
        phrase = HTTPStatus(rule.status).phrase
    except ValueError:
        phrase = "Error"
    kind = rule.body or ("html" if rule.status in (502, 503, 504) else "json")
    if kind == "html":
        return f"<html><body>{rule.status} {phrase}</body></html>".encode(), rule.content_type or "text/html"
    if kind == "json":
        message = f"Injected fault: HTTP {rule.status} {phrase}"
        if family == "endpoints":
            type_ = (
                "rate_limit_error"
                if rule.status == 429
                else ("server_error" if rule.status >= 500 else "invalid_request_error")
            )
            data: dict[str, Any] = endpoints_error_body(message, type_, rule.status)
        else:
            data = {"message": message}
        return json.dumps(data).encode(), rule.content_type or "application/json"
    return kind.encode(), rule.content_type or "text/plain"


class EmulatorMiddleware:
    """Wraps the FastAPI app; see the module docstring."""

    def __init__(self, app: ASGIApp, *, state: EmulatorState, routes_app: Starlette) -> None:
        self.app = app
        self.state = state
        self.routes_app = routes_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        status: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
                status.append(message["status"])
            await send(message)

        path: str = scope["path"]
        method: str = scope["method"]
        family = api_family(path)
        if family == "control":
            await self.app(scope, receive, send_with_id)
            return

        route = resolve_route(self.routes_app, scope)
        model: str | None = None
        fault: str | None = None
        dropped = False
        logged_body: Any = None
        try:
            if method in BODY_METHODS:
                # The 2 MB limit is documented for AI Endpoints only; training bodies are not limited.
                limit = self.state.config.max_body_bytes if family == "endpoints" else DRAIN_CAP
                body, too_large = await read_body(receive, scope, limit)
                if too_large:
                    error = endpoints_error_body(
                        f"Request body too large: the limit is {limit} bytes",
                        "invalid_request_error",
                        "payload_too_large",
                    )
                    await send_bytes(send_with_id, 413, json.dumps(error).encode(), "application/json")
                    return
                data = parse_json(body)
                model = extract_model(data, family)
                logged_body = data if len(body) <= LOGGED_BODY_LIMIT else None
                receive = replay_receive(body, receive)

            decision = self.state.faults.evaluate(method, path, route, model)
            if decision.latency:
                await asyncio.sleep(decision.latency)
            rule = decision.rule
            if rule is None:
                await self.app(scope, receive, send_with_id)
                return
            fault = rule.kind
            if rule.kind == "malformed":
                captured = await capture(self.app, scope, receive)
                truncated = captured.body[: len(captured.body) // 2] if len(captured.body) >= 2 else b'{"'
                await send_bytes(send_with_id, 200, truncated, "application/json")
                return
            if rule.after:
                await capture(self.app, scope, receive)
            if rule.kind == "drop":
                dropped = True
                await drop_connection(send)
                return
            body_bytes, content_type = fault_error_body(rule, family)
            headers = dict(rule.headers)
            if rule.status == 429:
                headers.setdefault("Retry-After", "1")
            await send_bytes(send_with_id, rule.status, body_bytes, content_type, headers)
        finally:
            outcome = DROPPED if dropped else (str(status[0]) if status else "no_response")
            self.state.accounting.record_request(
                RequestRecord(
                    time=self.state.clock.now(),
                    method=method,
                    path=path,
                    route=f"{method} {route or UNMATCHED}",
                    query=parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                    body=logged_body,
                    status=outcome,
                    model=model,
                    request_id=request_id,
                    fault=fault,
                )
            )
