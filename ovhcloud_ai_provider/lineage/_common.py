"""Small helpers shared by the lineage modules (standard library + structlog only)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

import structlog

log = structlog.get_logger("ovhcloud_ai_provider.lineage")

_SENSITIVE_KEY = re.compile(
    r"pass|pwd|secret|token|key|auth|credential|cred|cookie|session|signature|sig\b|private|cert|bearer",
    re.IGNORECASE,
)
MASK = "***"
MIN_SECRET_LENGTH = 4


def is_sensitive_key(key: str) -> bool:
    """A label / variable name that may carry a secret (``HF_TOKEN``, ``api-key``, ``db_password``...)."""
    return bool(_SENSITIVE_KEY.search(str(key)))


def env_var_values(*specs: dict[str, Any] | None) -> list[str]:
    """Every env var value of the given JobSpecs, longest first (for scrubbing)."""
    values: set[str] = set()
    for spec in specs:
        for env in (spec or {}).get("envVars") or []:
            if isinstance(env, dict) and env.get("value") is not None:
                value = str(env["value"])
                if len(value) >= MIN_SECRET_LENGTH:
                    values.add(value)
    return sorted(values, key=len, reverse=True)


def env_var_names(*specs: dict[str, Any] | None) -> list[str]:
    names: list[str] = []
    for spec in specs:
        for env in (spec or {}).get("envVars") or []:
            if isinstance(env, dict) and env.get("name") and str(env["name"]) not in names:
                names.append(str(env["name"]))
    return names


def scrub(text: str | None, secrets: Iterable[str]) -> str | None:
    """Replace every occurrence of a secret value in free text."""
    if text is None:
        return None
    text = str(text)
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def parse_time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:  # Python 3.10's fromisoformat is narrower than ISO 8601 (e.g. 5-digit fractions)
            from dateutil.parser import isoparse

            parsed = isoparse(value.strip())
        except (ImportError, ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def warn(event: str, exc: BaseException) -> None:
    """The single warning a lineage function logs when it swallows its own failure.

    Only the exception type is logged: a message could quote a value from the job spec.
    """
    with contextlib.suppress(Exception):  # logging must never break the caller either
        log.warning(event, error_type=type(exc).__name__)
