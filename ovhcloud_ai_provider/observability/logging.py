"""Structured-logging helpers. This module never configures logging.

Airflow 3 owns the structlog processor chain of every task process, and that chain holds the secrets
masker; a provider that configured structlog or the logging root itself would silently drop masking and
the bound task context (observability.md 5). So this module only hands out loggers, registers
secrets with Airflow's masker, and names the events the provider emits.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Final

import structlog

from ovhcloud_ai_provider.observability import config

# Stable event names (dotted, no f-strings): dashboards and log queries key on them.
LLM_REQUEST_COMPLETED: Final = "llm.request.completed"
LLM_REQUEST_FAILED: Final = "llm.request.failed"
TRAINING_JOB_SUBMITTED: Final = "training_job.submitted"
TRAINING_JOB_STATE_CHANGED: Final = "training_job.state_changed"
TRAINING_JOB_REATTACHED: Final = "training_job.reattached"
TRAINING_JOB_FINISHED: Final = "training_job.finished"
HTTP_REQUEST_RETRY: Final = "http.request.retry"
#: Emitted once per process and problem by the observability code itself when it swallows an error.
OBSERVABILITY_ERROR: Final = "observability.error"

EVENTS: Final = (
    LLM_REQUEST_COMPLETED,
    LLM_REQUEST_FAILED,
    TRAINING_JOB_SUBMITTED,
    TRAINING_JOB_STATE_CHANGED,
    TRAINING_JOB_REATTACHED,
    TRAINING_JOB_FINISHED,
    HTTP_REQUEST_RETRY,
)

log = structlog.get_logger(__name__)

_warned: set[str] = set()
_warned_lock = threading.Lock()


def get_logger(name: str | None = None, **initial_values: Any) -> Any:
    """``structlog.get_logger(name)``: a lazy proxy resolved against the host's (Airflow's) configuration."""
    return structlog.get_logger(name, **initial_values)


def warn_once(key: str, error: BaseException | str, **fields: Any) -> None:
    """Log one warning per ``key`` and process, then stay quiet: observability must not flood task logs.

    Used by every swallow-all path of this package; the exception *type* and message are logged, never the
    arguments that caused it (they may hold prompts or tokens).
    """
    try:
        with _warned_lock:
            if key in _warned:
                return
            _warned.add(key)
        detail = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        log.warning(OBSERVABILITY_ERROR, where=key, error=str(detail)[:500], **fields)
    except Exception:  # logging itself failing must not escape either
        pass


def reset_warnings() -> None:
    """Forget which warnings were already emitted (tests, forked children)."""
    with _warned_lock:
        _warned.clear()


def _mask_secret_function() -> Any:
    # airflow.sdk.log is the Airflow 3 home; the compat shim resolves older layouts. Both are only imported
    # when Airflow is already loaded: register_secret must not pay the ~2.5 s Airflow import outside it.
    if "airflow" not in sys.modules:
        return None
    try:
        from airflow.sdk.log import mask_secret

        return mask_secret
    except Exception:
        pass
    try:
        from airflow.providers.common.compat.sdk import mask_secret as compat_mask_secret

        return compat_mask_secret
    except Exception:
        return None


def register_secret(value: Any, name: str | None = None) -> None:
    """Register ``value`` with Airflow's secrets masker (task *and* supervisor process), before any log line.

    Call it for every token that does not come from a Connection password (env vars, files, refreshed
    tokens). A no-op outside Airflow or for empty values; never raises.
    """
    if not value or (isinstance(value, str) and len(value) < 5):
        return  # Airflow's masker cannot mask values this short (and warns); nothing to register
    try:
        mask = _mask_secret_function()
        if mask is not None:
            mask(value, name) if name is not None else mask(value)
    except Exception as exc:
        warn_once("logging.register_secret", exc)


def log_prompts_enabled() -> bool:
    """``[ovhcloud_ai] log_prompts`` / ``OVHCLOUD_AI_LOG_PROMPTS`` (default False): may prompts go to logs?"""
    try:
        return config.get_bool("log_prompts", default=False)
    except Exception:
        return False


def truncate_for_log(text: Any, limit: int = 2000) -> str:
    """Render an opt-in prompt/completion for a log field, bounded so one call cannot flood a task log."""
    rendered = text if isinstance(text, str) else repr(text)
    return rendered if len(rendered) <= limit else rendered[:limit] + f"...[{len(rendered) - limit} more chars]"


__all__ = [
    "EVENTS",
    "HTTP_REQUEST_RETRY",
    "LLM_REQUEST_COMPLETED",
    "LLM_REQUEST_FAILED",
    "OBSERVABILITY_ERROR",
    "TRAINING_JOB_FINISHED",
    "TRAINING_JOB_REATTACHED",
    "TRAINING_JOB_STATE_CHANGED",
    "TRAINING_JOB_SUBMITTED",
    "get_logger",
    "log_prompts_enabled",
    "register_secret",
    "truncate_for_log",
    "warn_once",
]
