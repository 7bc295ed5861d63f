"""Emulator settings.

One frozen dataclass so that a running emulator can be re-configured atomically (``OVHEmulator.configure``)
and restored to its constructor values by ``reset()``: tests sharing a session-scoped server must not leak
settings into each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: AI Endpoints documents a 2 MB limit per request body (ovh-api.md 2.4).
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class EmulatorConfig:
    """Every knob of the emulator; all durations are in *emulated* seconds unless stated otherwise."""

    training_tokens: tuple[str, ...] = ("training-token",)
    endpoints_tokens: tuple[str, ...] = ("endpoints-token",)
    region: str = "gra"
    #: Multiplier applied to every job phase duration (0.05 makes a default job finish in ~0.16 s).
    time_scale: float = 1.0
    #: Emulated seconds a job stays RUNNING unless the label ``emulator-run-seconds`` overrides it.
    default_run_seconds: float = 2.0
    #: Emulated seconds of each short phase (QUEUED, INITIALIZING, PENDING, FINALIZING, INTERRUPTING...).
    phase_seconds: float = 0.3
    #: Emulated seconds a ``long_queue`` job stays QUEUED.
    long_queue_seconds: float = 3600.0
    #: AI Endpoints: requests per window, per token and per model (OVH documents 400/min).
    rate_limit_per_minute: int = 400
    #: Real seconds of the rate-limit window (60 on OVH; shorter values make tests faster).
    rate_limit_window_seconds: float = 60.0
    #: AI Endpoints allows calls without a token (2/min per IP per model); off by default so that a client
    #: forgetting its token fails loudly in tests.
    allow_anonymous: bool = False
    anonymous_rate_limit_per_minute: int = 2
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: Reject unknown JobSpec fields with 400 (catches snake_case or invented fields in clients).
    strict_job_spec: bool = True

    def __post_init__(self) -> None:
        """Validate eagerly: a bad setting should fail at construction, not on the first request."""
        if not self.training_tokens or not all(isinstance(t, str) and t for t in self.training_tokens):
            raise ValueError("training_tokens must be a non-empty sequence of non-empty strings")
        if not self.endpoints_tokens or not all(isinstance(t, str) and t for t in self.endpoints_tokens):
            raise ValueError("endpoints_tokens must be a non-empty sequence of non-empty strings")
        if not self.region or not self.region.isalnum():
            raise ValueError(f"region must be alphanumeric, got {self.region!r}")
        for name in ("time_scale", "rate_limit_window_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("default_run_seconds", "phase_seconds", "long_queue_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("rate_limit_per_minute", "anonymous_rate_limit_per_minute", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    def replace(self, **changes: Any) -> EmulatorConfig:
        """Return a validated copy with ``changes`` applied; unknown names raise ``TypeError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown emulator setting(s): {', '.join(unknown)}")
        for key in ("training_tokens", "endpoints_tokens"):
            if key in changes and isinstance(changes[key], str):
                changes[key] = (changes[key],)
            elif key in changes:
                changes[key] = tuple(changes[key])
        return dataclasses.replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """Settings without the tokens, for the control API (tokens are secrets even in a fake)."""
        data = dataclasses.asdict(self)
        data.pop("training_tokens")
        data.pop("endpoints_tokens")
        return data
