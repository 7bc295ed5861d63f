"""The emulator's clock.

Job states are computed lazily from timestamps, so the only source of time is this clock. Tests can jump
forward with ``advance()`` instead of sleeping, which keeps state-machine tests fast and deterministic.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class Clock:
    """Wall clock plus a test-controlled offset (seconds)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current emulated time as a unix timestamp."""
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move emulated time forward; jobs, logs and rate-limit windows all follow."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Forget any offset added by ``advance()``."""
        with self._lock:
            self._offset = 0.0


def iso(ts: float) -> str:
    """ISO-8601 UTC with microseconds and ``Z``, the format the AI Training API uses."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(ts: float) -> str:
    """Second-precision ISO-8601, the format of the job log line prefixes."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
