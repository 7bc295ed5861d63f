"""The recording API the HTTP client, hooks and operators call.

Every function is a no-op when metrics are off (one cached check), cheap otherwise, and exception-proof:
whatever goes wrong is logged once per process (``observability.error``) and swallowed, because
observability must never fail a task. ``dag_id``/``task_id`` labels come from
:func:`context.task_label_values` (``""`` outside a task).

Label values are normalised here so cardinality stays bounded even if a caller slips: routes are reduced to
templates (ids become ``{id}``), models are truncated, error types reduced to a safe token.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Final

from ovhcloud_ai_provider.observability import catalog, context, delivery, jobfacts, pricing
from ovhcloud_ai_provider.observability.logging import warn_once

#: ``operation`` values that are LLM calls (OTel ``gen_ai.operation.name``); others get no gen_ai histogram.
LLM_OPERATIONS: Final = frozenset({"chat", "embeddings", "text_completion", "generate_content"})
_ID_SEGMENT = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,}|\d+)$"
)
_MAX_MODEL_LABEL: Final = 128


def classify_outcome(status: int | None, error_type: str | None = None) -> str:
    """Map an attempt to the closed ``outcome`` set: 429 is ``rate_limited``, no response ``network_error``."""
    if status is None:
        return "network_error"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "success"


@functools.lru_cache(maxsize=512)
def route_template(route: str) -> str:
    """``/v1/job/3f2a...`` -> ``/v1/job/{id}``; query strings dropped. Callers should already pass templates."""
    path = str(route).split("?", 1)[0].split("#", 1)[0] or "/"
    segments = ["{id}" if _ID_SEGMENT.match(segment) else segment for segment in path.split("/")]
    return "/".join(segments)[:200]


@functools.lru_cache(maxsize=1024)
def _clean_model(text: str) -> str:
    text = text.strip()
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isprintable())
    return text[:_MAX_MODEL_LABEL]


def _model_label(model: Any) -> str:
    """Model id as a label value: printable, at most 128 characters (ids come from a small catalogue)."""
    if model is None:
        return ""
    return _clean_model(model if isinstance(model, str) else str(model))


def _error_label(status: int | None, error_type: str | None) -> str:
    if error_type:
        return jobfacts.label_value(error_type, default="error")
    return str(status) if status is not None else "error"


def record_http_attempt(
    *,
    service: str,
    method: str,
    route: str,
    status: int | None,
    error_type: str | None,
    duration_s: float,
    model: str | None = None,
    operation: str | None = None,
) -> None:
    """One HTTP attempt (each retry too), so request totals match the server's own accounting exactly.

    ``status`` is ``None`` when no response arrived (``error_type`` then names the exception class). LLM
    operations (``chat``, ``embeddings``) also feed ``gen_ai_client_operation_duration_seconds``.
    """
    try:
        sink = delivery.sink()
        if sink is None or not sink.per_call:
            return
        outcome = classify_outcome(status, error_type)
        model_label = _model_label(model)
        dag_id, task_id = context.task_label_values()
        sink.inc(
            catalog.REQUESTS,
            (str(service), str(method).upper(), route_template(route), model_label, outcome, dag_id, task_id),
        )
        if operation in LLM_OPERATIONS:
            error_label = "" if outcome == "success" else _error_label(status, error_type)
            sink.observe(
                catalog.GEN_AI_OPERATION_DURATION,
                (str(operation), catalog.PROVIDER_NAME, model_label, error_label),
                max(float(duration_s), 0.0),
            )
    except Exception as exc:
        warn_once("metrics.record_http_attempt", exc)


def record_llm_usage(*, operation: str, model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Tokens of one LLM call; returns its estimated cost (``None`` when the model has no price).

    The cost is returned even when metrics are off: hooks log it and sum it per task.
    """
    cost: float | None = None
    try:
        input_tokens = max(int(input_tokens or 0), 0)
        output_tokens = max(int(output_tokens or 0), 0)
        cost = pricing.estimate_llm_cost(str(model), input_tokens, output_tokens)
    except Exception as exc:
        warn_once("metrics.record_llm_usage.cost", exc)
        return None
    try:
        sink = delivery.sink()
        if sink is None:
            return cost
        model_label = _model_label(model)
        dag_id, task_id = context.task_label_values()
        operation_label = str(operation)
        for token_type, count in (("input", input_tokens), ("output", output_tokens)):
            if count or token_type == "input" or operation_label != "embeddings":
                # Embeddings have no output tokens: no 0-token observation to skew the distribution.
                sink.observe(
                    catalog.GEN_AI_TOKEN_USAGE,
                    (operation_label, catalog.PROVIDER_NAME, model_label, token_type),
                    count,
                )
            sink.inc(catalog.LLM_TOKENS, (model_label, token_type, dag_id, task_id), count)
        if cost is not None:
            sink.inc(catalog.LLM_COST, (model_label, pricing.currency(), dag_id, task_id), cost)
        scope = context.current_scope()
        if scope is not None:
            scope.add_tokens(input_tokens, output_tokens)
            scope.add_cost("ai_endpoints", cost)
    except Exception as exc:
        warn_once("metrics.record_llm_usage", exc)
    return cost


def record_training_job_finished(job: Mapping[str, Any]) -> None:
    """A job seen in a terminal state: count, durations, GPU time, estimated cost (once per job and process)."""
    try:
        sink = delivery.sink()
        if sink is None:
            return
        job_id = jobfacts.job_id(job)
        if not sink.first_finish(job_id):
            return
        sink.forget_job(job_id)
        cat = pricing.catalog()
        final_state = jobfacts.label_value(jobfacts.state(job))
        gpu_model = jobfacts.gpu_model(job, cat.flavor_models)
        run_s = jobfacts.run_duration_seconds(job)
        dag_id, task_id = context.task_label_values()
        sink.inc(catalog.TRAINING_JOBS_FINISHED, (final_state, gpu_model, dag_id, task_id))
        sink.observe(catalog.TRAINING_JOB_DURATION, (final_state, gpu_model), run_s)
        queued = jobfacts.queue_duration_seconds(job)
        if queued is not None:
            sink.observe(catalog.TRAINING_QUEUE_DURATION, (gpu_model,), queued)
        sink.inc(catalog.TRAINING_GPU_SECONDS, (gpu_model, dag_id, task_id), run_s * jobfacts.gpu_count(job))
        cost = pricing.estimate_training_cost(job)
        if cost is not None:
            sink.inc(catalog.TRAINING_COST, (gpu_model, cat.currency, dag_id, task_id), cost)
        scope = context.current_scope()
        if scope is not None:
            scope.add_cost("ai_training", cost)
    except Exception as exc:
        warn_once("metrics.record_training_job_finished", exc)


def record_training_job_state(
    job: Mapping[str, Any], *, dag_id: str | None = None, task_id: str | None = None
) -> None:
    """A job fetched while waiting on it (call on every poll): feeds the *waiting* and *stuck in QUEUED* gauges.

    Only the multiprocess mode keeps these live gauges. Triggers, which run outside the task's context, pass
    ``dag_id``/``task_id`` explicitly. A terminal state removes the job from the waiting set.
    """
    try:
        sink = delivery.sink()
        if sink is None:
            return
        if dag_id is None or task_id is None:
            ctx_dag, ctx_task = context.task_label_values()
            dag_id = ctx_dag if dag_id is None else dag_id
            task_id = ctx_task if task_id is None else task_id
        sink.watch_job(job, (str(dag_id), str(task_id)))
    except Exception as exc:
        warn_once("metrics.record_training_job_state", exc)


def flush() -> None:
    """End-of-task delivery: push the last-run gauges (pushgateway) or write them (multiprocess).

    ``task_observability`` calls it on exit; calling it again, or outside a finished task scope, does
    nothing. Never raises; the Pushgateway call times out after 5 s.
    """
    try:
        sink = delivery.sink()
        scope = context.current_scope()
        if sink is None or scope is None or scope.outcome is None or scope.flushed:
            return
        scope.flushed = True
        sink.flush(scope)
    except Exception as exc:
        warn_once("metrics.flush", exc)


__all__ = [
    "LLM_OPERATIONS",
    "classify_outcome",
    "flush",
    "record_http_attempt",
    "record_llm_usage",
    "record_training_job_finished",
    "record_training_job_state",
    "route_template",
]
