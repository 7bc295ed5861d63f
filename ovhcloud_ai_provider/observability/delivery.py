"""How metrics leave a task process: mode selection and the per-process sink.

Airflow runs each task in a short-lived forked process, so an in-process registry scraped over HTTP does not
work, and a plain Pushgateway cannot add up counters from many processes (observability.md 2.2). Hence the
modes, chosen by ``[ovhcloud_ai] metrics_mode`` (``AIRFLOW__OVHCLOUD_AI__METRICS_MODE``,
``OVHCLOUD_AI_METRICS_MODE``):

``off`` (default when nothing is configured)
    every recording call returns after one cached check.
``multiprocess`` (default when ``PROMETHEUS_MULTIPROC_DIR`` is set)
    counters, histograms and gauges go to ``prometheus_client`` mmap files in ``PROMETHEUS_MULTIPROC_DIR``;
    one long-lived ``ovhcloud-ai-metrics-exporter`` per host serves them (exact totals across processes).
``pushgateway``
    only the last-run *gauges* of each task, PUT to ``[ovhcloud_ai] pushgateway_url`` under the group
    ``{job="airflow_ovhcloud_ai", dag_id, task_id}`` at the end of the run. No counters through it.

The sink is built lazily on first use and dropped in a forked child (``os.register_at_fork``): Airflow's
supervisor forks the task runner, and a sink inherited from the parent would write or push for the wrong
process.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from ovhcloud_ai_provider.observability import catalog, config, jobfacts
from ovhcloud_ai_provider.observability.logging import reset_warnings, warn_once

if TYPE_CHECKING:
    from ovhcloud_ai_provider.observability.context import TaskScope

MODES: Final = ("off", "multiprocess", "pushgateway")
PUSH_TIMEOUT_S: Final = 5.0
_MULTIPROC_ENV: Final = ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
_FINISHED_MEMORY: Final = 4096


def multiproc_dir() -> str | None:
    """The ``PROMETHEUS_MULTIPROC_DIR`` of this process, if any."""
    for name in _MULTIPROC_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


def resolve_mode() -> str:
    """The configured mode, validated (falls back to ``off`` with one warning when unusable)."""
    raw = config.get_option("metrics_mode")
    if raw is None:
        return "multiprocess" if multiproc_dir() else "off"
    mode = raw.strip().lower()
    if mode not in MODES:
        warn_once("delivery.mode", f"unknown [ovhcloud_ai] metrics_mode {raw!r}; metrics are off", valid=MODES)
        return "off"
    if mode == "multiprocess" and not multiproc_dir():
        warn_once("delivery.multiprocess", "metrics_mode=multiprocess needs PROMETHEUS_MULTIPROC_DIR; metrics are off")
        return "off"
    if mode == "pushgateway" and not config.get_option("pushgateway_url"):
        warn_once("delivery.pushgateway", "metrics_mode=pushgateway needs [ovhcloud_ai] pushgateway_url; metrics are off")
        return "off"
    return mode


class Sink:
    """Per-process recording target. The base class records nothing (used as-is for ``pushgateway``)."""

    mode = "off"
    #: Whether per-call counters/histograms are recorded (lets callers skip label work when not).
    per_call = False

    def __init__(self) -> None:
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._finished_lock = threading.Lock()

    # Per-call metrics (multiprocess only).
    def inc(self, family: catalog.MetricFamily, labels: tuple[str, ...], amount: float = 1.0) -> None:
        return None

    def observe(self, family: catalog.MetricFamily, labels: tuple[str, ...], value: float) -> None:
        return None

    def set(self, family: catalog.MetricFamily, labels: tuple[str, ...], value: float) -> None:
        return None

    def watch_job(self, job: Mapping[str, Any], labels: tuple[str, str]) -> None:
        return None

    def forget_job(self, job_id: str) -> None:
        return None

    def forget_task_jobs(self, labels: tuple[str, str]) -> None:
        return None

    def first_finish(self, job_id: str) -> bool:
        """``True`` the first time this process reports ``job_id`` finished (no double counting on re-polls)."""
        if not job_id:
            return True
        with self._finished_lock:
            if job_id in self._finished:
                return False
            self._finished[job_id] = None
            if len(self._finished) > _FINISHED_MEMORY:
                self._finished.popitem(last=False)
        return True

    def flush(self, scope: TaskScope) -> None:
        return None


class MultiprocessSink(Sink):
    """``prometheus_client`` metrics whose values live in per-pid mmap files under the multiprocess dir."""

    mode = "multiprocess"
    per_call = True

    def __init__(self, directory: str, *, new_value_class: bool) -> None:
        super().__init__()
        import prometheus_client
        from prometheus_client import values

        prometheus_client.disable_created_metrics()
        os.makedirs(directory, exist_ok=True)
        # prometheus_client picks its value class when *it* is imported; if that happened before
        # PROMETHEUS_MULTIPROC_DIR was set (or tests switch directories), install a multiprocess one now.
        if new_value_class or not getattr(values.ValueClass, "_multiprocess", False):
            values.ValueClass = values.MultiProcessValue()
        self.directory = directory
        self._metrics: dict[str, Any] = {}
        for family in catalog.FAMILIES:
            if "multiprocess" in family.delivery:
                self._metrics[family.name] = _build_metric(family)
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._lock = threading.Lock()
        # Live-gauge bookkeeping for jobs this process is waiting on. Job ids stay in memory, never in labels.
        self._watched: dict[str, tuple[tuple[str, str], str, float | None]] = {}
        self._waiting_states: dict[tuple[str, str], set[str]] = {}

    def _child(self, family: catalog.MetricFamily, labels: tuple[str, ...]) -> Any:
        key = (family.name, labels)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    child = self._metrics[family.name].labels(*labels)
                    self._children[key] = child
        return child

    def inc(self, family: catalog.MetricFamily, labels: tuple[str, ...], amount: float = 1.0) -> None:
        self._child(family, labels).inc(amount)

    def observe(self, family: catalog.MetricFamily, labels: tuple[str, ...], value: float) -> None:
        self._child(family, labels).observe(value)

    def set(self, family: catalog.MetricFamily, labels: tuple[str, ...], value: float) -> None:
        self._child(family, labels).set(value)

    # --- jobs waiting / stuck in QUEUED (live gauges: dead processes drop out via the exporter) ---
    def watch_job(self, job: Mapping[str, Any], labels: tuple[str, str]) -> None:
        job_id = jobfacts.job_id(job)
        state = jobfacts.state(job)
        if not job_id or not state:
            return
        with self._lock:
            if state in catalog.TERMINAL_JOB_STATES:
                self._watched.pop(job_id, None)
            else:
                since = jobfacts.entered_current_state_at(job)
                previous = self._watched.get(job_id)
                if since is None and previous is not None and previous[1] == state:
                    entered: float | None = previous[2]
                else:
                    entered = since.timestamp() if since is not None else time.time()
                self._watched[job_id] = (labels, state, entered)
            groups = {labels} | ({self._watched[job_id][0]} if job_id in self._watched else set())
        for group in groups:
            self._publish_group(group)

    def forget_job(self, job_id: str) -> None:
        with self._lock:
            entry = self._watched.pop(job_id, None)
        if entry is not None:
            self._publish_group(entry[0])

    def forget_task_jobs(self, labels: tuple[str, str]) -> None:
        with self._lock:
            for job_id in [jid for jid, entry in self._watched.items() if entry[0] == labels]:
                del self._watched[job_id]
        if labels in self._waiting_states:
            self._publish_group(labels)

    def _publish_group(self, labels: tuple[str, str]) -> None:
        now = time.time()
        counts: dict[str, int] = {}
        oldest_queued = 0.0
        with self._lock:
            for group, state, entered in self._watched.values():
                if group != labels:
                    continue
                counts[state] = counts.get(state, 0) + 1
                if state == "QUEUED" and entered is not None:
                    oldest_queued = max(oldest_queued, now - entered)
            seen = self._waiting_states.setdefault(labels, set())
            seen.update(counts)
            states = sorted(seen)
        for state in states:
            self.set(catalog.TRAINING_JOBS_WAITING, (jobfacts.label_value(state), *labels), counts.get(state, 0))
        self.set(catalog.TRAINING_QUEUED_AGE, labels, oldest_queued)

    def flush(self, scope: TaskScope) -> None:
        labels = (scope.dag_id, scope.task_id)
        self.forget_task_jobs(labels)
        if not scope.completed or scope.ended_at is None:
            return
        for family, label_values, value in last_run_samples(scope):
            self.set(family, (*labels, *label_values), value)


class PushgatewaySink(Sink):
    """Pushes the last-run gauges of a finished task; records nothing per call."""

    mode = "pushgateway"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def flush(self, scope: TaskScope) -> None:
        if not scope.completed or scope.ended_at is None:
            return
        push_last_run(self.url, scope)


def _build_metric(family: catalog.MetricFamily) -> Any:
    from prometheus_client import Counter, Gauge, Histogram

    if family.type == "counter":
        return Counter(family.client_name, family.documentation, family.labels, registry=None)
    if family.type == "histogram":
        return Histogram(family.name, family.documentation, family.labels, buckets=family.buckets, registry=None)
    return Gauge(
        family.name,
        family.documentation,
        family.labels,
        registry=None,
        multiprocess_mode=family.multiprocess_mode or "mostrecent",  # type: ignore[arg-type]
    )


def last_run_samples(scope: TaskScope) -> Iterator[tuple[catalog.MetricFamily, tuple[str, ...], float]]:
    """The last-run gauge samples of a finished run, *without* the ``dag_id``/``task_id`` labels."""
    from ovhcloud_ai_provider.observability import pricing

    assert scope.ended_at is not None
    if scope.outcome == "success":
        yield catalog.TASK_LAST_SUCCESS, (), scope.ended_at
    yield catalog.TASK_LAST_COMPLETION, (), scope.ended_at
    yield catalog.TASK_LAST_RUN_DURATION, (), float(scope.duration_s or 0.0)
    for token_type in catalog.TOKEN_TYPES:
        yield catalog.TASK_LAST_RUN_TOKENS, (token_type,), float(scope.tokens.get(token_type, 0))
    currency = pricing.currency()
    for service in catalog.SERVICES:
        yield catalog.TASK_LAST_RUN_COST, (service, currency), float(scope.cost.get(service, 0.0))


class _StaticCollector:
    """A collector over fixed gauge samples: pushing must not touch ``prometheus_client``'s value classes
    (with ``PROMETHEUS_MULTIPROC_DIR`` set they would write mmap files)."""

    def __init__(self, samples: Iterable[tuple[catalog.MetricFamily, tuple[str, ...], float]]) -> None:
        self._samples = list(samples)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        grouped: dict[str, tuple[catalog.MetricFamily, list[tuple[tuple[str, ...], float]]]] = {}
        for family, label_values, value in self._samples:
            grouped.setdefault(family.name, (family, []))[1].append((label_values, value))
        for name, (family, rows) in grouped.items():
            label_names = [label for label in family.labels if label not in ("dag_id", "task_id")]
            metric = GaugeMetricFamily(name, family.documentation, labels=label_names)
            for label_values, value in rows:
                metric.add_metric(list(label_values), value)
            yield metric


def push_last_run(url: str, scope: TaskScope) -> None:
    """PUT the run's gauges to the group ``{job, dag_id, task_id}`` (a failed run POSTs instead).

    PUT replaces the whole group, so nothing from an older run lingers. A failed or skipped run uses POST,
    which replaces only the metrics it sends: ``..._last_success_timestamp_seconds`` from the last good run
    survives, and ``time() - last_success > X`` keeps working as a staleness alert.
    """
    from prometheus_client import CollectorRegistry, push_to_gateway, pushadd_to_gateway

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StaticCollector(last_run_samples(scope)))  # type: ignore[arg-type]
    push = push_to_gateway if scope.outcome == "success" else pushadd_to_gateway
    push(
        url,
        job=catalog.PUSHGATEWAY_JOB,
        registry=registry,
        grouping_key={"dag_id": scope.dag_id, "task_id": scope.task_id},
        timeout=PUSH_TIMEOUT_S,
    )


# ---------------------------------------------------------------- per-process state
_lock = threading.Lock()
_mode: str | None = None
_sink: Sink | None = None
_built = False
_new_value_class = False


def mode() -> str:
    """The active mode of this process (resolved once, cached)."""
    global _mode
    current = _mode
    if current is None:
        current = _mode = resolve_mode()
    return current


def sink() -> Sink | None:
    """The process's sink, built on first use; ``None`` when metrics are off (the hot-path check)."""
    if _built:
        return _sink
    return _build()


def _build() -> Sink | None:
    global _sink, _built, _new_value_class
    with _lock:
        if _built:
            return _sink
        selected = mode()
        built: Sink | None = None
        try:
            if selected == "multiprocess":
                directory = multiproc_dir()
                assert directory
                built = MultiprocessSink(directory, new_value_class=_new_value_class)
                _new_value_class = False
            elif selected == "pushgateway":
                built = PushgatewaySink(str(config.get_option("pushgateway_url")))
        except Exception as exc:
            warn_once("delivery.build", exc, mode=selected)
            built = None
        _sink, _built = built, True
        return _sink


def reset(*, new_value_class: bool = True) -> None:
    """Forget mode, options, sink and warnings; the next call re-reads the configuration.

    For tests and benchmarks. ``new_value_class`` installs a fresh ``prometheus_client`` multiprocess value
    class at the next build (needed when ``PROMETHEUS_MULTIPROC_DIR`` changed); pass ``False`` to keep one
    you installed yourself (e.g. with a custom pid function).
    """
    global _mode, _sink, _built, _new_value_class, _lock
    _lock = threading.Lock()
    _mode, _sink, _built = None, None, False
    _new_value_class = new_value_class
    config.clear_cache()
    reset_warnings()
    from ovhcloud_ai_provider.observability import pricing

    pricing.reload()


def _after_fork_in_child() -> None:
    # The child is a new process: its sink must be rebuilt (fresh locks, no inherited children, files or
    # finished-job memory). prometheus_client's multiprocess values also switch to the child's pid files.
    global _sink, _built, _lock
    _lock = threading.Lock()
    _sink, _built = None, False
    reset_warnings()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


__all__ = [
    "MODES",
    "PUSH_TIMEOUT_S",
    "MultiprocessSink",
    "PushgatewaySink",
    "Sink",
    "last_run_samples",
    "mode",
    "multiproc_dir",
    "push_last_run",
    "reset",
    "resolve_mode",
    "sink",
]
