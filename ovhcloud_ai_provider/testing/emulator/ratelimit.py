"""Sliding-window rate limiter of AI Endpoints (per caller, per model).

OVH limits each Public Cloud project to N requests per minute *per model* (anonymous callers: 2/min per
IP). A sliding log gives exact, easily testable numbers: the (N+1)-th request inside any window is refused
until the oldest accepted one leaves the window.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """Outcome of one ``hit``; ``retry_after`` is whole seconds, only meaningful when refused."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The rate-limit headers a real answer carries (``Retry-After`` only on 429)."""
        headers = {
            "x-ratelimit-limit-minute": str(self.limit),
            "x-ratelimit-remaining-minute": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Thread-safe sliding-window log keyed by ``(caller, model)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def hit(self, caller: str, model: str, *, limit: int, window: float, now: float) -> RateDecision:
        """Try to consume one request; refused requests do not consume budget."""
        with self._lock:
            log = self._hits.setdefault((caller, model), deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) >= limit:
                retry = max(1, math.ceil(log[0] + window - now))
                return RateDecision(allowed=False, limit=limit, remaining=0, retry_after=retry)
            log.append(now)
            return RateDecision(allowed=True, limit=limit, remaining=limit - len(log), retry_after=0)

    def clear(self) -> None:
        """Forget every window."""
        with self._lock:
            self._hits.clear()
