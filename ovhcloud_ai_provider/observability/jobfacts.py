"""Pull the few numbers metrics need out of an AI Training ``Job`` dict (ovh-api.md 1.4, 1.6).

Kept apart from recording and pricing so both read a job the same way, and tolerant on purpose: the API
adds fields over time, the emulator omits some, and a malformed job must cost us a missing metric, never a
failed task.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

#: ``resources`` absent or empty means "1 GPU of the default flavor" (ovh-api.md 1.4).
DEFAULT_GPU_FLAVOR = "ai1-1-gpu"
DEFAULT_CPU_FLAVOR = "ai1-1-cpu"
_LABEL_SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def label_value(value: Any, *, default: str = "unknown", limit: int = 64) -> str:
    """A short, label-safe rendering of a catalogue value (GPU model, state)."""
    text = _LABEL_SAFE.sub("_", str(value).strip())[:limit] if value not in (None, "") else ""
    return text or default


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 (``2021-02-23T08:45:01.297780Z``) or epoch seconds -> aware datetime; ``None`` if unusable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    number = _number(value)
    if number is not None and not isinstance(value, str):
        return datetime.fromtimestamp(number, tz=timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 rejects fractions that are not 3 or 6 digits: trim/pad them.
        match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
        if not match:
            return None
        fraction = (match.group(2) or ".0")[1:7].ljust(6, "0")
        try:
            parsed = datetime.fromisoformat(f"{match.group(1)}.{fraction}{match.group(3)}")
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def status(job: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(job.get("status"))


def resources(job: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(_mapping(job.get("spec")).get("resources"))


def state(job: Mapping[str, Any]) -> str:
    return str(status(job).get("state") or "").upper()


def job_id(job: Mapping[str, Any]) -> str:
    return str(job.get("id") or "")


def gpu_count(job: Mapping[str, Any]) -> int:
    res = resources(job)
    gpu = _number(res.get("gpu"))
    if gpu is not None:
        return max(int(gpu), 0)
    cpu = _number(res.get("cpu"))
    flavor = str(res.get("flavor") or "")
    if (cpu and cpu > 0) or flavor.endswith("-cpu"):
        return 0
    return 1  # no resources at all: one GPU of the default flavor


def cpu_count(job: Mapping[str, Any]) -> int:
    cpu = _number(resources(job).get("cpu"))
    return max(int(cpu), 0) if cpu is not None else 0


def flavor(job: Mapping[str, Any]) -> str:
    res = resources(job)
    explicit = str(res.get("flavor") or "")
    if explicit:
        return explicit
    return DEFAULT_GPU_FLAVOR if gpu_count(job) > 0 else DEFAULT_CPU_FLAVOR


def gpu_model(job: Mapping[str, Any], flavor_models: Mapping[str, str] | None = None) -> str:
    """``gpuModel`` as echoed by the API; else the flavor's model; ``cpu`` for CPU jobs."""
    if gpu_count(job) == 0:
        return "cpu"
    explicit = resources(job).get("gpuModel")
    if explicit:
        return label_value(explicit)
    known = (flavor_models or {}).get(flavor(job))
    return label_value(known) if known else "unknown"


def _history(job: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    entries = status(job).get("history")
    out: list[tuple[str, datetime]] = []
    if isinstance(entries, list):
        for entry in entries:
            entry = _mapping(entry)
            when = parse_time(entry.get("date"))
            if when is not None:
                out.append((str(entry.get("state") or "").upper(), when))
    out.sort(key=lambda item: item[1])
    return out


def _first(history: list[tuple[str, datetime]], wanted: str) -> datetime | None:
    return next((when for name, when in history if name == wanted), None)


def run_duration_seconds(job: Mapping[str, Any]) -> float:
    """Seconds spent RUNNING: ``status.duration``; else RUNNING -> next transition; else start -> stop."""
    st = status(job)
    duration = _number(st.get("duration"))
    if duration is not None:
        return max(duration, 0.0)
    history = _history(job)
    for index, (name, when) in enumerate(history):
        if name == "RUNNING" and index + 1 < len(history):
            return max((history[index + 1][1] - when).total_seconds(), 0.0)
    started, stopped = parse_time(st.get("startedAt")), parse_time(st.get("stoppedAt"))
    if started and stopped:
        return max((stopped - started).total_seconds(), 0.0)
    return 0.0


def queued_at(job: Mapping[str, Any]) -> datetime | None:
    return _first(_history(job), "QUEUED") or parse_time(status(job).get("queuedAt")) or parse_time(
        job.get("createdAt")
    )


def entered_current_state_at(job: Mapping[str, Any]) -> datetime | None:
    """When the job entered its current state: the last history entry in that state, else best effort."""
    current = state(job)
    history = _history(job)
    for name, when in reversed(history):
        if name == current:
            return when
    st = status(job)
    if current == "QUEUED":
        return parse_time(st.get("queuedAt")) or parse_time(st.get("lastTransitionDate")) or parse_time(
            job.get("createdAt")
        )
    return parse_time(st.get("lastTransitionDate"))


def queue_duration_seconds(job: Mapping[str, Any]) -> float | None:
    """QUEUED -> RUNNING wait from ``status.history``, else ``queuedAt`` -> ``startedAt``; ``None`` if unknown."""
    history = _history(job)
    queued, running = _first(history, "QUEUED"), _first(history, "RUNNING")
    st = status(job)
    queued = queued or parse_time(st.get("queuedAt"))
    running = running or parse_time(st.get("startedAt"))
    if queued is None or running is None:
        return None
    return max((running - queued).total_seconds(), 0.0)


__all__ = [
    "cpu_count",
    "entered_current_state_at",
    "flavor",
    "gpu_count",
    "gpu_model",
    "job_id",
    "label_value",
    "parse_time",
    "queue_duration_seconds",
    "queued_at",
    "run_duration_seconds",
    "state",
]
