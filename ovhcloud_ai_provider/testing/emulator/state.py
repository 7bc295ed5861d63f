"""The emulator's whole mutable state, shared by the HTTP app and the Python API.

One object, so that ``reset()`` is a single call and the server thread and the test thread look at the
same data. Each component carries its own lock.
"""

from __future__ import annotations

import threading
from typing import Any

from .accounting import Accounting
from .clock import Clock
from .config import EmulatorConfig
from .faults import FaultController
from .jobstore import JobStore
from .ratelimit import RateLimiter


class EmulatorState:
    """Config, clock, accounting, faults, rate limiter and job store."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.initial_config = config
        self._config = config
        self._config_lock = threading.Lock()
        self.clock = Clock()
        self.accounting = Accounting()
        self.faults = FaultController()
        self.rate_limiter = RateLimiter()
        self.jobs = JobStore(self.clock, self.accounting, lambda: self.config)

    @property
    def config(self) -> EmulatorConfig:
        """Settings in force now (may differ from the constructor's after ``configure``)."""
        with self._config_lock:
            return self._config

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings live; jobs already submitted keep their planned timeline."""
        with self._config_lock:
            self._config = self._config.replace(**changes)
            return self._config

    def reset(self) -> None:
        """Clear jobs, accounting, faults, rate-limit windows and clock offset; restore the settings."""
        with self._config_lock:
            self._config = self.initial_config
        self.jobs.clear()
        self.accounting.clear()
        self.faults.clear()
        self.rate_limiter.clear()
        self.clock.reset()

    def accounting_snapshot(self) -> dict[str, Any]:
        """Accounting with the job-state counters computed now."""
        return self.accounting.snapshot(self.jobs.job_states())
