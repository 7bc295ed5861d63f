"""The one place that defines every metric the provider emits.

Everything else (recording, delivery, the exporter, the dashboards and alert rules, their tests and the
docs) refers to these definitions, so a name or a label set cannot drift between code and dashboards.

Naming rules (checked by ``tests/observability/test_catalog.py``):

* OpenTelemetry GenAI metrics keep their Prometheus form (``gen_ai_client_token_usage``,
  ``gen_ai_client_operation_duration_seconds``), with OTel's bucket boundaries;
* everything else starts with ``ovhcloud_ai_``, is in base units (seconds, tokens, a currency given by a
  ``currency`` label), and counters end in ``_total``;
* labels only hold values from closed sets or from small catalogues (models, GPU models, DAG and task ids).
  Never a run id, a job id, a try number, a map index, a prompt or a token. Histograms carry no
  ``dag_id``/``task_id``: a bucket per task would multiply the series count by ~15.

This module is pure data: it must stay importable without ``prometheus_client``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ovhcloud_ai_provider.hooks import job_states as _job_states

MetricType = Literal["counter", "gauge", "histogram"]
#: ``multiprocess``: written by task processes into ``PROMETHEUS_MULTIPROC_DIR`` and served by the exporter.
#: ``pushgateway``: the last-run gauges, PUT per ``{job, dag_id, task_id}`` group at the end of a task.
Delivery = Literal["multiprocess", "pushgateway"]

PROVIDER_NAME: Final = "ovhcloud"
PUSHGATEWAY_JOB: Final = "airflow_ovhcloud_ai"

#: ``outcome`` label of :data:`REQUESTS`: a closed set, so 429s are visible on their own.
OUTCOMES: Final = ("success", "rate_limited", "client_error", "server_error", "network_error")
TOKEN_TYPES: Final = ("input", "output")
SERVICES: Final = ("ai_endpoints", "ai_training")
#: AI Training job states (ovh-api.md 1.6), shared with the hooks. Terminal ones end up in ``final_state``.
JOB_STATES: Final = _job_states.JOB_STATES
TERMINAL_JOB_STATES: Final = tuple(s for s in JOB_STATES if s in _job_states.TERMINAL_STATES)
FAILED_JOB_STATES: Final = ("FAILED", "ERROR", "SYNC_FAILED")

#: OTel ``gen_ai.client.token.usage`` explicit bucket boundaries.
OTEL_TOKEN_BUCKETS: Final = (
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0,
    1048576.0, 4194304.0, 16777216.0, 67108864.0,
)  # fmt: skip
#: OTel ``gen_ai.client.operation.duration`` explicit bucket boundaries (seconds).
OTEL_DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
#: Training job run time: 1 min .. 48 h, plus small buckets so emulator jobs of a few seconds land somewhere.
JOB_DURATION_BUCKETS: Final = (
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0,
    86400.0, 172800.0,
)  # fmt: skip
#: QUEUED -> RUNNING wait.
QUEUE_DURATION_BUCKETS: Final = (
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
)  # fmt: skip


@dataclass(frozen=True)
class MetricFamily:
    """One metric family: what the exposition shows, and how it is delivered."""

    name: str
    """Exposed family name (counters include ``_total``)."""
    type: MetricType
    documentation: str
    labels: tuple[str, ...]
    unit: str
    """Base unit: ``seconds``, ``tokens``, ``requests``, ``jobs``, ``currency`` (see the ``currency`` label)."""
    delivery: tuple[Delivery, ...] = ("multiprocess",)
    buckets: tuple[float, ...] = ()
    multiprocess_mode: str = ""
    """Gauges only: how ``prometheus_client`` merges the per-process files (never ``all``)."""

    @property
    def series_names(self) -> tuple[str, ...]:
        """Sample names a scrape shows for this family (what PromQL can reference)."""
        if self.type == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)

    @property
    def client_name(self) -> str:
        """Name to hand to ``prometheus_client`` (it appends ``_total`` to counters itself)."""
        return self.name.removesuffix("_total") if self.type == "counter" else self.name


_TASK = ("dag_id", "task_id")
_MODEL = "gen_ai_request_model"

GEN_AI_TOKEN_USAGE: Final = MetricFamily(
    name="gen_ai_client_token_usage",
    type="histogram",
    documentation="OTel GenAI: tokens per LLM call (billable usage reported by the API), by token type.",
    labels=("gen_ai_operation_name", "gen_ai_provider_name", _MODEL, "gen_ai_token_type"),
    unit="tokens",
    buckets=OTEL_TOKEN_BUCKETS,
)
GEN_AI_OPERATION_DURATION: Final = MetricFamily(
    name="gen_ai_client_operation_duration_seconds",
    type="histogram",
    documentation="OTel GenAI: duration of each LLM HTTP attempt; error_type is empty on success.",
    labels=("gen_ai_operation_name", "gen_ai_provider_name", _MODEL, "error_type"),
    unit="seconds",
    buckets=OTEL_DURATION_BUCKETS,
)
REQUESTS: Final = MetricFamily(
    name="ovhcloud_ai_requests_total",
    type="counter",
    documentation="HTTP attempts to OVHcloud AI APIs (retries included), by route template and outcome.",
    labels=("service", "method", "route", _MODEL, "outcome", *_TASK),
    unit="requests",
)
LLM_TOKENS: Final = MetricFamily(
    name="ovhcloud_ai_llm_tokens_total",
    type="counter",
    documentation="LLM tokens reported by AI Endpoints responses, by model and token type.",
    labels=(_MODEL, "gen_ai_token_type", *_TASK),
    unit="tokens",
)
LLM_COST: Final = MetricFamily(
    name="ovhcloud_ai_llm_cost_total",
    type="counter",
    documentation="Estimated LLM spend (tokens x price catalog; an estimate, not the invoice).",
    labels=(_MODEL, "currency", *_TASK),
    unit="currency",
)
TRAINING_JOBS_FINISHED: Final = MetricFamily(
    name="ovhcloud_ai_training_jobs_finished_total",
    type="counter",
    documentation="AI Training jobs seen in a terminal state, by final state and GPU model.",
    labels=("final_state", "gpu_model", *_TASK),
    unit="jobs",
)
TRAINING_JOB_DURATION: Final = MetricFamily(
    name="ovhcloud_ai_training_job_duration_seconds",
    type="histogram",
    documentation="Time finished AI Training jobs spent RUNNING (status.duration).",
    labels=("final_state", "gpu_model"),
    unit="seconds",
    buckets=JOB_DURATION_BUCKETS,
)
TRAINING_QUEUE_DURATION: Final = MetricFamily(
    name="ovhcloud_ai_training_job_queue_duration_seconds",
    type="histogram",
    documentation="Wait of finished AI Training jobs from QUEUED to RUNNING (status.history/queuedAt/startedAt).",
    labels=("gpu_model",),
    unit="seconds",
    buckets=QUEUE_DURATION_BUCKETS,
)
TRAINING_GPU_SECONDS: Final = MetricFamily(
    name="ovhcloud_ai_training_gpu_seconds_total",
    type="counter",
    documentation="GPU time of finished AI Training jobs: RUNNING duration x GPU count.",
    labels=("gpu_model", *_TASK),
    unit="seconds",
)
TRAINING_COST: Final = MetricFamily(
    name="ovhcloud_ai_training_cost_total",
    type="counter",
    documentation="Estimated AI Training spend (billed minutes x flavor price; an estimate, not the invoice).",
    labels=("gpu_model", "currency", *_TASK),
    unit="currency",
)
TRAINING_JOBS_WAITING: Final = MetricFamily(
    name="ovhcloud_ai_training_jobs_waiting",
    type="gauge",
    documentation="Unfinished AI Training jobs that live task/trigger processes are waiting on, by state.",
    labels=("state", *_TASK),
    unit="jobs",
    multiprocess_mode="livesum",
)
TRAINING_QUEUED_AGE: Final = MetricFamily(
    name="ovhcloud_ai_training_job_queued_age_seconds",
    type="gauge",
    documentation="Longest current QUEUED wait among jobs live processes are waiting on (0 when none queued).",
    labels=_TASK,
    unit="seconds",
    multiprocess_mode="livemax",
)
TASK_LAST_SUCCESS: Final = MetricFamily(
    name="ovhcloud_ai_task_last_success_timestamp_seconds",
    type="gauge",
    documentation="Unix time the task's last run succeeded.",
    labels=_TASK,
    unit="seconds",
    delivery=("multiprocess", "pushgateway"),
    multiprocess_mode="mostrecent",
)
TASK_LAST_COMPLETION: Final = MetricFamily(
    name="ovhcloud_ai_task_last_completion_timestamp_seconds",
    type="gauge",
    documentation="Unix time the task's last run ended (success, failure or skip; not a deferral).",
    labels=_TASK,
    unit="seconds",
    delivery=("multiprocess", "pushgateway"),
    multiprocess_mode="mostrecent",
)
TASK_LAST_RUN_DURATION: Final = MetricFamily(
    name="ovhcloud_ai_task_last_run_duration_seconds",
    type="gauge",
    documentation="Wall time of the task's last run.",
    labels=_TASK,
    unit="seconds",
    delivery=("multiprocess", "pushgateway"),
    multiprocess_mode="mostrecent",
)
TASK_LAST_RUN_TOKENS: Final = MetricFamily(
    name="ovhcloud_ai_task_last_run_llm_tokens",
    type="gauge",
    documentation="LLM tokens used by the task's last run, by token type.",
    labels=(*_TASK, "gen_ai_token_type"),
    unit="tokens",
    delivery=("multiprocess", "pushgateway"),
    multiprocess_mode="mostrecent",
)
TASK_LAST_RUN_COST: Final = MetricFamily(
    name="ovhcloud_ai_task_last_run_cost",
    type="gauge",
    documentation="Estimated spend of the task's last run, by service (ai_endpoints, ai_training).",
    labels=(*_TASK, "service", "currency"),
    unit="currency",
    delivery=("multiprocess", "pushgateway"),
    multiprocess_mode="mostrecent",
)

#: Every family, in documentation order.
FAMILIES: Final[tuple[MetricFamily, ...]] = (
    GEN_AI_TOKEN_USAGE,
    GEN_AI_OPERATION_DURATION,
    REQUESTS,
    LLM_TOKENS,
    LLM_COST,
    TRAINING_JOBS_FINISHED,
    TRAINING_JOB_DURATION,
    TRAINING_QUEUE_DURATION,
    TRAINING_GPU_SECONDS,
    TRAINING_COST,
    TRAINING_JOBS_WAITING,
    TRAINING_QUEUED_AGE,
    TASK_LAST_SUCCESS,
    TASK_LAST_COMPLETION,
    TASK_LAST_RUN_DURATION,
    TASK_LAST_RUN_TOKENS,
    TASK_LAST_RUN_COST,
)

#: Labels that must never appear on any family (high cardinality or sensitive).
FORBIDDEN_LABELS: Final = frozenset(
    {"run_id", "try_number", "map_index", "job_id", "ovh_job_id", "id", "prompt", "completion", "token",
     "user", "pid", "instance_id", "url", "path", "response_id", "message"}
)  # fmt: skip


def families() -> tuple[MetricFamily, ...]:
    """All metric families (introspection for tests, the dashboard test and the docs)."""
    return FAMILIES


def by_name(name: str) -> MetricFamily:
    """Family by exposed name; raises ``KeyError`` for unknown names."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise KeyError(name)


def series_names() -> dict[str, MetricFamily]:
    """Map every sample name PromQL may use (``_bucket``/``_sum``/``_count`` included) to its family."""
    return {series: family for family in FAMILIES for series in family.series_names}


def markdown_table() -> str:
    """The catalog as a Markdown table (``docs/observability.md`` embeds it; a test keeps them equal)."""
    rows = ["| Metric | Type | Unit | Labels | Delivery | Description |", "|---|---|---|---|---|---|"]
    for f in FAMILIES:
        kind = f.type + (f" ({f.multiprocess_mode})" if f.multiprocess_mode else "")
        rows.append(
            f"| `{f.name}` | {kind} | {f.unit} | {', '.join(f'`{label}`' for label in f.labels)} "
            f"| {', '.join(f.delivery)} | {f.documentation} |"
        )
    return "\n".join(rows)


__all__ = [
    "FAMILIES",
    "FORBIDDEN_LABELS",
    "OUTCOMES",
    "PROVIDER_NAME",
    "PUSHGATEWAY_JOB",
    "MetricFamily",
    "by_name",
    "families",
    "markdown_table",
    "series_names",
]
