"""Bearer-token parsing shared by both APIs (each API checks against its own token set)."""

from __future__ import annotations

from starlette.requests import Request


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; ``None`` when absent, ``""`` when malformed."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()
