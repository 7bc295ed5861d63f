"""``OVHEmulator``: the emulator as a real HTTP server on a background thread.

A real socket (not an in-process transport) so that the provider's ``requests`` session, urllib3 retries,
timeouts and connection errors are exercised exactly as against OVHcloud.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import uvicorn

from .app import create_app
from .config import DEFAULT_MAX_BODY_BYTES, EmulatorConfig
from .faults import FaultController
from .state import EmulatorState

STARTUP_TIMEOUT = 15.0


class OVHEmulator:
    """Local fake of OVHcloud AI Training + AI Endpoints, served by uvicorn in a thread.

    >>> with OVHEmulator(port=0, time_scale=0.05) as emu:  # doctest: +SKIP
    ...     requests.get(emu.url + "/v1/models", headers={"Authorization": "Bearer endpoints-token"})
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        training_tokens: Sequence[str] = ("training-token",),
        endpoints_tokens: Sequence[str] = ("endpoints-token",),
        region: str = "gra",
        time_scale: float = 1.0,
        default_run_seconds: float = 2.0,
        rate_limit_per_minute: int = 400,
        rate_limit_window_seconds: float = 60.0,
        allow_anonymous: bool = False,
        anonymous_rate_limit_per_minute: int = 2,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        phase_seconds: float = 0.3,
        long_queue_seconds: float = 3600.0,
        strict_job_spec: bool = True,
    ) -> None:
        config = EmulatorConfig(
            training_tokens=tuple(training_tokens),
            endpoints_tokens=tuple(endpoints_tokens),
            region=region,
            time_scale=time_scale,
            default_run_seconds=default_run_seconds,
            rate_limit_per_minute=rate_limit_per_minute,
            rate_limit_window_seconds=rate_limit_window_seconds,
            allow_anonymous=allow_anonymous,
            anonymous_rate_limit_per_minute=anonymous_rate_limit_per_minute,
            max_body_bytes=max_body_bytes,
            phase_seconds=phase_seconds,
            long_queue_seconds=long_queue_seconds,
            strict_job_spec=strict_job_spec,
        )
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self.state = EmulatorState(config)
        self.app = create_app(self.state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> OVHEmulator:
        """Bind the port, start uvicorn on a daemon thread and block until it accepts connections."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # never touch the host application's logging configuration
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"ovh-emulator-{self._port}", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not server.started:
            if not thread.is_alive():
                self._cleanup()
                raise RuntimeError("the emulator server thread died during startup")
            if waited >= STARTUP_TIMEOUT:
                self.stop()
                raise RuntimeError("the emulator did not start in time")
            deadline.wait(0.01)
            waited += 0.01
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and join its thread (idempotent)."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=5)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._socket = None
        self._server = None
        self._thread = None

    def __enter__(self) -> OVHEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound port (after ``start()``)."""
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``; AI Endpoints base is ``url + "/v1"``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    # -- test API -------------------------------------------------------------------------------------
    @property
    def config(self) -> EmulatorConfig:
        """Settings in force."""
        return self.state.config

    @property
    def faults(self) -> FaultController:
        """Fault-injection controller (``latency``, ``error``, ``fail_next``, ``drop``, ``malformed``...)."""
        return self.state.faults

    def accounting(self) -> dict[str, Any]:
        """Snapshot of requests, tokens and jobs (ground truth for tests; see docs/emulator.md)."""
        return self.state.accounting_snapshot()

    def request_log(self) -> list[dict[str, Any]]:
        """Most recent requests (method, concrete path, route template, status, model, request id, fault)."""
        return self.state.accounting.request_log()

    def jobs(self) -> list[dict[str, Any]]:
        """Every live job as ``GET /v1/job/{id}`` would return it now."""
        return [view for _, view in self.state.jobs.views()]

    def configure(self, **settings: Any) -> EmulatorConfig:
        """Change settings live (``time_scale``, ``rate_limit_per_minute``...); ``reset()`` restores them."""
        return self.state.configure(**settings)

    def set_rate_limit(self, per_minute: int) -> None:
        """Shortcut for ``configure(rate_limit_per_minute=...)`` (restored by ``reset()``)."""
        self.state.configure(rate_limit_per_minute=per_minute)

    def advance(self, seconds: float) -> None:
        """Jump the emulated clock forward (jobs progress, rate-limit windows slide)."""
        self.state.clock.advance(seconds)

    def reset(self) -> None:
        """Clear jobs, accounting, faults, rate-limit windows and clock offset; restore settings."""
        self.state.reset()
