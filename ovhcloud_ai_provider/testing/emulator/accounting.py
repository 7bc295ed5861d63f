"""Ground-truth accounting of what reached the emulator.

Tests assert on these numbers instead of trusting the client's own metrics: every non-control request is
counted (faulted ones too, since they reached the server), by route *template* and by model, and token usage
of successful inference answers is summed per model. Thread-safe: the server thread writes while the test
thread reads.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

#: Status key used when the emulator dropped the connection without answering.
DROPPED = "dropped"
#: Request bodies larger than this are not kept in the request log (memory bound).
LOGGED_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (concrete path kept here, never in the aggregated keys).

    ``route`` is the accounting key (``"GET /v1/job/{id}"``); ``body`` is the parsed JSON request body when
    it was JSON and at most ``LOGGED_BODY_LIMIT`` bytes, so tests can assert what a client really sent.
    """

    time: float
    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    body: Any
    status: str
    model: str | None
    request_id: str
    fault: str | None


class Accounting:
    """Counters for requests, tokens and job lifecycle operations."""

    def __init__(self, max_log: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._max_log = max_log
        self.clear()

    def clear(self) -> None:
        """Forget everything (``OVHEmulator.reset``)."""
        with self._lock:
            self._total = 0
            self._by_route: dict[str, dict[str, int]] = {}
            self._by_model: dict[str, dict[str, int]] = {}
            self._tokens: dict[str, dict[str, int]] = {}
            self._jobs = {"created": 0, "killed": 0, "deleted": 0, "started": 0}
            self._log: deque[RequestRecord] = deque(maxlen=self._max_log)

    def record_request(self, record: RequestRecord) -> None:
        """Count one finished request."""
        key = record.route
        with self._lock:
            self._total += 1
            route_counts = self._by_route.setdefault(key, {})
            route_counts[record.status] = route_counts.get(record.status, 0) + 1
            if record.model is not None:
                model_counts = self._by_model.setdefault(record.model, {})
                model_counts[record.status] = model_counts.get(record.status, 0) + 1
            self._log.append(record)

    def record_tokens(self, model: str, prompt: int, completion: int) -> None:
        """Add the usage of one successful inference answer."""
        with self._lock:
            t = self._tokens.setdefault(model, {"prompt": 0, "completion": 0, "total": 0})
            t["prompt"] += prompt
            t["completion"] += completion
            t["total"] += prompt + completion

    def record_job_event(self, event: str) -> None:
        """Count a job lifecycle operation: ``created``, ``killed``, ``deleted`` or ``started``."""
        with self._lock:
            self._jobs[event] = self._jobs.get(event, 0) + 1

    def snapshot(self, job_states: dict[str, dict[str, int]]) -> dict[str, Any]:
        """Deep-copied accounting; ``job_states`` (``by_state``/``by_final_state``) comes from the job store."""
        with self._lock:
            return {
                "requests": {
                    "total": self._total,
                    "by_route": {k: dict(v) for k, v in sorted(self._by_route.items())},
                    "by_model": {k: dict(v) for k, v in sorted(self._by_model.items())},
                },
                "tokens": {k: dict(v) for k, v in sorted(self._tokens.items())},
                "jobs": {**self._jobs, **job_states},
            }

    def request_log(self) -> list[dict[str, Any]]:
        """The most recent requests, oldest first (bounded)."""
        with self._lock:
            return [asdict(r) for r in self._log]
