"""ASGI app factory: FastAPI routes for both OVH APIs plus control routes, wrapped by the middleware."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from . import control, endpoints, training
from .errors import (
    EndpointsAPIError,
    TrainingAPIError,
    handle_endpoints_error,
    handle_http_exception,
    handle_training_error,
)
from .middleware import EmulatorMiddleware
from .state import EmulatorState


def create_fastapi(state: EmulatorState) -> FastAPI:
    """The routes alone (no middleware); OpenAPI/docs pages are off so only OVH routes exist."""
    api = FastAPI(title="OVHcloud AI emulator", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.emulator = state
    api.include_router(training.router)
    api.include_router(endpoints.router)
    api.include_router(control.router)
    api.add_exception_handler(TrainingAPIError, handle_training_error)
    api.add_exception_handler(EndpointsAPIError, handle_endpoints_error)
    api.add_exception_handler(StarletteHTTPException, handle_http_exception)
    return api


def create_app(state: EmulatorState) -> ASGIApp:
    """The full ASGI app served by uvicorn (usable with any ASGI server or ``httpx.ASGITransport``)."""
    api = create_fastapi(state)
    return EmulatorMiddleware(api, state=state, routes_app=api)
