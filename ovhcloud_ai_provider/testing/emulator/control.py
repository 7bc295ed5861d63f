"""``/_emulator/*`` control routes, for tests that run the emulator out of process.

Not part of any OVH API: no auth, never counted in the accounting.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .clock import iso
from .state import EmulatorState

router = APIRouter(prefix="/_emulator")


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _bad_request(message: str) -> Response:
    return JSONResponse({"message": message}, status_code=400)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    return json.loads(raw)


@router.get("/health")
async def health(request: Request) -> Response:
    """Liveness probe for out-of-process users (the CLI, docker-compose)."""
    return JSONResponse({"status": "ok"})


@router.get("/accounting")
async def accounting(request: Request) -> Response:
    """The accounting snapshot (same shape as ``OVHEmulator.accounting()``)."""
    return JSONResponse(_state(request).accounting_snapshot())


@router.get("/requests")
async def requests_log(request: Request) -> Response:
    """The most recent requests with concrete paths and request ids."""
    return JSONResponse({"requests": _state(request).accounting.request_log()})


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Clear jobs, accounting, faults, rate-limit windows, clock offset; restore settings."""
    _state(request).reset()
    return JSONResponse({"status": "reset"})


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    """Every fault rule with its remaining ``count`` and ``fired`` counter."""
    return JSONResponse({"faults": _state(request).faults.snapshot()})


@router.post("/faults")
async def add_faults(request: Request) -> Response:
    """Add rules: one object, a list, or ``{"faults": [...], "replace": true}`` (same fields as Python)."""
    try:
        body = await _body(request)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _bad_request(f"invalid JSON: {exc}")
    replace = False
    if isinstance(body, dict) and "faults" in body:
        replace = bool(body.get("replace", False))
        body = body["faults"]
    specs = [body] if isinstance(body, dict) else body
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        return _bad_request("body must be a fault object, a list of them, or {'faults': [...]}")
    controller = _state(request).faults
    try:
        if replace:
            controller.clear()
        rules = controller.load(specs)
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return JSONResponse({"faults": [r.to_dict() for r in rules]})


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    """Remove every fault rule."""
    _state(request).faults.clear()
    return Response(status_code=204)


@router.delete("/faults/{fault_id}")
async def delete_fault(request: Request) -> Response:
    """Remove one fault rule by id."""
    if not _state(request).faults.remove(request.path_params["fault_id"]):
        return JSONResponse({"message": "no such fault"}, status_code=404)
    return Response(status_code=204)


@router.post("/advance")
async def advance(request: Request) -> Response:
    """Move the emulated clock forward: ``{"seconds": N}``."""
    try:
        body = await _body(request)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _bad_request(f"invalid JSON: {exc}")
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return _bad_request("body must be {'seconds': <number >= 0>}")
    state = _state(request)
    state.clock.advance(float(seconds))
    return JSONResponse({"now": iso(state.clock.now())})


@router.get("/config")
async def get_config(request: Request) -> Response:
    """Settings in force (tokens omitted)."""
    return JSONResponse(_state(request).config.public_dict())


@router.post("/config")
async def set_config(request: Request) -> Response:
    """Change settings live, e.g. ``{"time_scale": 0.05, "rate_limit_per_minute": 3}``."""
    try:
        body = await _body(request)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _bad_request(f"invalid JSON: {exc}")
    if not isinstance(body, dict):
        return _bad_request("body must be an object of settings")
    try:
        config = _state(request).configure(**body)
    except (TypeError, ValueError) as exc:
        return _bad_request(str(exc))
    return JSONResponse(config.public_dict())
