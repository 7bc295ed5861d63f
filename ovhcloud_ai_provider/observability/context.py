"""Task context for metrics and logs: who (dag_id, task_id) is making this call?

Operators wrap ``execute()`` / ``execute_complete()`` in :class:`task_observability`. It

* binds ``dag_id, task_id, run_id, try_number, map_index`` into structlog's contextvars, so every log line
  of the provider (and of user code) carries them when task logs are shipped as JSON;
* sets a contextvar with the *metric* labels (only ``dag_id`` and ``task_id``: run ids, try numbers and map
  indexes are high-cardinality and stay in logs);
* accumulates the run's tokens and estimated cost for the last-run gauges, and on exit hands the finished
  run to :func:`metrics.flush` (Pushgateway PUT, or the multiprocess gauges) without ever raising.

Hooks called from ``@task`` functions have no such wrapper: :func:`current_task_labels` then falls back on
``airflow.sdk.get_current_context()``, which works inside any running task.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Final, Literal

from ovhcloud_ai_provider.observability import config
from ovhcloud_ai_provider.observability.logging import warn_once

EMPTY_LABELS: Final[Mapping[str, str]] = {"dag_id": "", "task_id": ""}

#: Exceptions that end an ``execute()`` without ending the task run (names, to avoid importing Airflow).
_DEFERRAL_EXCEPTIONS: Final = frozenset({"TaskDeferred", "AirflowRescheduleException"})
_SKIP_EXCEPTIONS: Final = frozenset({"AirflowSkipException", "DownstreamTasksSkipped"})


@dataclass
class TaskScope:
    """One task run as seen by observability (lives for one ``task_observability`` block)."""

    dag_id: str
    task_id: str
    run_id: str | None = None
    try_number: int | None = None
    map_index: int | None = None
    started_at: float = field(default_factory=time.time)
    started_monotonic: float = field(default_factory=time.monotonic)
    ti_start: datetime | None = None
    tokens: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0})
    cost: dict[str, float] = field(default_factory=lambda: {"ai_endpoints": 0.0, "ai_training": 0.0})
    outcome: str | None = None
    """``success``, ``failed``, ``skipped`` or ``deferred`` once the block exits."""
    ended_at: float | None = None
    duration_s: float | None = None
    flushed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def labels(self) -> dict[str, str]:
        return {"dag_id": self.dag_id, "task_id": self.task_id}

    def add_tokens(self, input_tokens: int, output_tokens: int) -> None:
        with self._lock:
            self.tokens["input"] += input_tokens
            self.tokens["output"] += output_tokens

    def add_cost(self, service: str, amount: float | None) -> None:
        if amount is None:
            return
        with self._lock:
            self.cost[service] = self.cost.get(service, 0.0) + amount

    def finish(self, outcome: str) -> None:
        self.outcome = outcome
        self.ended_at = time.time()
        duration = time.monotonic() - self.started_monotonic
        if self.ti_start is not None:
            # The task instance's start covers a deferral too; execute_complete runs in a later process.
            try:
                from_ti = self.ended_at - self.ti_start.timestamp()
                if 0 <= from_ti < 366 * 86400:
                    duration = max(duration, from_ti)
            except Exception:
                pass
        self.duration_s = duration

    @property
    def completed(self) -> bool:
        """The run ended (success, failure or skip); a deferral is not an end."""
        return self.outcome in ("success", "failed", "skipped")


_SCOPE: contextvars.ContextVar[TaskScope | None] = contextvars.ContextVar("ovhcloud_ai_task_scope", default=None)


def current_scope() -> TaskScope | None:
    """The innermost active :class:`task_observability` scope of this context, if any."""
    return _SCOPE.get()


def _airflow_context() -> Mapping[str, Any] | None:
    # Only when the Task SDK is already loaded (always inside a task): importing it costs ~2.5 s.
    if "airflow.sdk" not in sys.modules:
        return None
    try:
        from airflow.sdk import get_current_context

        return get_current_context()  # type: ignore[no-any-return]
    except Exception:  # RuntimeError outside a running task
        return None


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def context_fields(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """``dag_id, task_id, run_id, try_number, map_index`` (and the TI start) from an Airflow context."""
    ctx: Mapping[str, Any] = context if isinstance(context, Mapping) else {}
    ti = ctx.get("ti") or ctx.get("task_instance")
    dag_id = _get(ti, "dag_id") or _get(ctx.get("dag"), "dag_id") or ctx.get("dag_id")
    task_id = _get(ti, "task_id") or _get(ctx.get("task"), "task_id") or ctx.get("task_id")
    dag_run = ctx.get("dag_run")
    run_id = _get(ti, "run_id") or ctx.get("run_id") or _get(dag_run, "run_id")
    try_number = _get(ti, "try_number")
    map_index = _get(ti, "map_index")
    start = _get(ti, "start_date")
    return {
        "dag_id": str(dag_id) if dag_id else "",
        "task_id": str(task_id) if task_id else "",
        "run_id": str(run_id) if run_id else None,
        "try_number": int(try_number) if isinstance(try_number, int) else None,
        "map_index": int(map_index) if isinstance(map_index, int) else None,
        "ti_start": start if isinstance(start, datetime) and start.tzinfo is not None else None,
    }


def task_label_values() -> tuple[str, str]:
    """``(dag_id, task_id)`` for metric labels: the active scope, else Airflow's current context, else ``""``.

    ``[ovhcloud_ai] metrics_task_labels = false`` turns them off (always ``""``) for very large installations.
    """
    if not config.get_bool("metrics_task_labels", default=True):
        return "", ""
    scope = _SCOPE.get()
    if scope is not None:
        return scope.dag_id, scope.task_id
    ctx = _airflow_context()
    if ctx is None:
        return "", ""
    fields = context_fields(ctx)
    return fields["dag_id"], fields["task_id"]


def current_task_labels() -> dict[str, str]:
    """``{"dag_id": ..., "task_id": ...}`` for metric labels (empty strings outside a task)."""
    dag_id, task_id = task_label_values()
    return {"dag_id": dag_id, "task_id": task_id}


def classify_exit(exc_type: type[BaseException] | None) -> str:
    """``success``, ``deferred``, ``skipped`` or ``failed`` from the exception leaving ``execute()``."""
    if exc_type is None:
        return "success"
    names = {klass.__name__ for klass in exc_type.__mro__}
    if names & _DEFERRAL_EXCEPTIONS:
        return "deferred"
    if names & _SKIP_EXCEPTIONS:
        return "skipped"
    return "failed"


class task_observability:
    """Context manager around ``execute()`` / ``execute_complete()``; see the module docstring.

    Re-entrant: a nested block for the same task (an operator calling ``super().execute()``) is a pass-through.
    Never raises, never swallows the task's own exception.
    """

    def __init__(self, context: Mapping[str, Any] | None) -> None:
        self._context = context
        self._scope: TaskScope | None = None
        self._token: contextvars.Token[TaskScope | None] | None = None
        self._bound: Any = None

    def __enter__(self) -> TaskScope | None:
        try:
            fields = context_fields(self._context)
            active = _SCOPE.get()
            if active is not None and (active.dag_id, active.task_id, active.run_id) == (
                fields["dag_id"],
                fields["task_id"],
                fields["run_id"],
            ):
                return active  # nested: the outer block owns the run
            import structlog

            log_fields = {k: fields[k] for k in ("dag_id", "task_id", "run_id", "try_number", "map_index")}
            self._bound = structlog.contextvars.bound_contextvars(
                **{k: v for k, v in log_fields.items() if v not in (None, "")}
            )
            self._bound.__enter__()
            self._scope = TaskScope(
                dag_id=fields["dag_id"],
                task_id=fields["task_id"],
                run_id=fields["run_id"],
                try_number=fields["try_number"],
                map_index=fields["map_index"],
                ti_start=fields["ti_start"],
            )
            self._token = _SCOPE.set(self._scope)
        except Exception as exc:
            warn_once("context.enter", exc)
        return self._scope

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        scope = self._scope
        if scope is not None:
            try:
                scope.finish(classify_exit(exc_type))
                from ovhcloud_ai_provider.observability import metrics

                metrics.flush()
            except Exception as error:
                warn_once("context.exit", error)
        if self._token is not None:
            try:
                _SCOPE.reset(self._token)
            except Exception:  # reset from another context: fall back on clearing
                _SCOPE.set(None)
            self._token = None
        if self._bound is not None:
            try:
                self._bound.__exit__(None, None, None)
            except Exception as error:
                warn_once("context.unbind", error)
            self._bound = None
        return False  # never swallow the task's exception


__all__ = [
    "EMPTY_LABELS",
    "TaskScope",
    "classify_exit",
    "context_fields",
    "current_scope",
    "current_task_labels",
    "task_label_values",
    "task_observability",
]
