"""The code behind the operators' ``get_openlineage_facets_on_start/_on_complete/_on_failure`` methods.

Only imported from inside those methods. Without ``apache-airflow-providers-openlineage`` importing this module
raises a clean :class:`ImportError` (the operators catch it and return nothing). Both public functions never
raise otherwise: on an unexpected error they log one warning and return an empty ``OperatorLineage``.

Nothing here records a prompt, a completion, a token or an environment variable value.
"""

from __future__ import annotations

import re
from typing import Any

try:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.facet_v2 import error_message_run, external_query_run
except ImportError as _exc:  # pragma: no cover - exercised by the operators' tests
    raise ImportError(
        "OpenLineage support of the OVHcloud AI provider needs apache-airflow-providers-openlineage "
        "(pip install 'airflow-provider-ovhcloud-ai[openlineage]')"
    ) from _exc

from ovhcloud_ai_provider.lineage._common import (
    as_float,
    as_int,
    env_var_names,
    env_var_values,
    is_sensitive_key,
    iso,
    parse_time,
    scrub,
    warn,
)
from ovhcloud_ai_provider.lineage.facets import (
    LLM_USAGE_KEY,
    PRODUCER,
    TRAINING_JOB_KEY,
    OvhAiLlmUsageRunFacet,
    OvhAiTrainingJobRunFacet,
    model_dataset_facets,
    volume_dataset_facets,
)
from ovhcloud_ai_provider.lineage.naming import clean_url, model_dataset
from ovhcloud_ai_provider.lineage.volumes import PlannedDataset, plan_training_datasets, spec_volumes

__all__ = ["OperatorLineage", "inference_lineage", "job_reference_lineage", "training_lineage"]

EXTERNAL_QUERY_SOURCE = "ovhcloud-ai-training"
_REGION_IN_HOST = re.compile(r"(?:^|\.)([a-z]{2,4})\.(?:training\.)?ai\.cloud\.ovh\.net$")


# ---------------------------------------------------------------------------------------------- inference
def inference_lineage(
    *,
    endpoint_base_url: str,
    model: str,
    operation: str,
    usage: dict[str, Any] | None = None,
    request_count: int = 0,
    estimated_cost: float | None = None,
    currency: str | None = None,
    response_model: str | None = None,
) -> OperatorLineage:
    """Lineage of a chat / embeddings task.

    Input: the model as a dataset (namespace = endpoint origin, name = model id) with ``datasetType`` MODEL
    (subType LLM or EMBEDDING), ``dataSource`` and ``ovhAi_model``. Run facet ``ovhAi_llmUsage`` when ``usage``
    (OpenAI ``{"prompt_tokens", "completion_tokens", "total_tokens"}`` summed over the task) is given.
    """
    try:
        namespace, name = model_dataset(endpoint_base_url, model)
        dataset = InputDataset(
            namespace=namespace,
            name=name,
            facets=model_dataset_facets(namespace=namespace, model=name, task=str(operation)),
        )
        run_facets: dict[str, Any] = {}
        if usage is not None:
            run_facets[LLM_USAGE_KEY] = llm_usage_facet(
                endpoint_base_url=endpoint_base_url,
                model=name,
                operation=operation,
                usage=usage,
                request_count=request_count,
                estimated_cost=estimated_cost,
                currency=currency,
                response_model=response_model,
            )
        return OperatorLineage(inputs=[dataset], outputs=[], run_facets=run_facets)
    except Exception as exc:
        warn("lineage.inference_lineage_failed", exc)
        return OperatorLineage()


def llm_usage_facet(
    *,
    endpoint_base_url: str,
    model: str,
    operation: str,
    usage: dict[str, Any],
    request_count: int = 0,
    estimated_cost: float | None = None,
    currency: str | None = None,
    response_model: str | None = None,
) -> OvhAiLlmUsageRunFacet:
    usage = usage or {}
    input_tokens = as_int(_first(usage, "prompt_tokens", "input_tokens", "inputTokens")) or 0
    output_tokens = as_int(_first(usage, "completion_tokens", "output_tokens", "outputTokens")) or 0
    total_tokens = as_int(_first(usage, "total_tokens", "totalTokens"))
    cost = as_float(estimated_cost)
    if cost is not None and cost < 0:
        cost = None
    return OvhAiLlmUsageRunFacet(
        operation=str(operation),
        endpoint=clean_url(endpoint_base_url) or "https://unknown",
        requestModel=model,
        responseModel=str(response_model) if response_model else None,
        requestCount=max(as_int(request_count) or 0, 0),
        inputTokens=max(input_tokens, 0),
        outputTokens=max(output_tokens, 0),
        totalTokens=max(total_tokens if total_tokens is not None else input_tokens + output_tokens, 0),
        estimatedCost=cost,
        currency=str(currency) if currency and cost is not None else None,
        producer=PRODUCER,
    )


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


# ---------------------------------------------------------------------------------------------- training
def training_lineage(
    *,
    spec: dict[str, Any],
    job: dict[str, Any] | None = None,
    region: str | None = None,
    api_url: str | None = None,
    model_output_mount: str | None = None,
    error: str | None = None,
) -> OperatorLineage:
    """Lineage of an AI Training job task.

    ``spec`` is the JobSpec as sent to the API; ``job`` the API's Job when known. Inputs: RO volumes (and the
    source of volumes that sync to a ``volumeTarget``); outputs: RW/RWD volumes (or their targets), the one at
    ``model_output_mount`` typed MODEL with ``ovhAi_model`` (``trainedByJobId``) and ``version`` (= job id).
    Run facets: ``ovhAi_trainingJob``; ``externalQuery`` when the job id is known; ``errorMessage`` for ``error``.
    """
    try:
        spec = spec if isinstance(spec, dict) else {}
        job = job if isinstance(job, dict) else {}
        job_spec: dict[str, Any] = job["spec"] if isinstance(job.get("spec"), dict) else {}
        job_id = str(job["id"]) if job.get("id") else None
        secrets = env_var_values(spec, job_spec)

        inputs: list[InputDataset] = []
        outputs: list[OutputDataset] = []
        volume_source = spec if spec_volumes(spec) else job_spec
        for planned in plan_training_datasets(volume_source, model_output_mount=model_output_mount):
            facets = _planned_facets(planned, job_id)
            if planned.role == "input":
                inputs.append(InputDataset(namespace=planned.namespace, name=planned.name, facets=facets))
            else:
                outputs.append(OutputDataset(namespace=planned.namespace, name=planned.name, facets=facets))

        run_facets: dict[str, Any] = {
            TRAINING_JOB_KEY: training_job_facet(
                spec=spec, job=job, region=region, api_url=api_url, secrets=secrets
            )
        }
        if job_id:
            run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
                externalQueryId=job_id, source=EXTERNAL_QUERY_SOURCE, producer=PRODUCER
            )
        if error:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=scrub(str(error), secrets) or "",
                programmingLanguage="python",
                producer=PRODUCER,
            )
        return OperatorLineage(inputs=inputs, outputs=outputs, run_facets=run_facets)
    except Exception as exc:
        warn("lineage.training_lineage_failed", exc)
        return OperatorLineage()


def job_reference_lineage(
    *,
    job_id: str | None,
    job: dict[str, Any] | None = None,
    region: str | None = None,
    api_url: str | None = None,
    error: str | None = None,
) -> OperatorLineage:
    """Lineage of a task that acts on an existing job (get, stop, delete, logs): no datasets, since the task
    reads or writes none, but the job it touched (``externalQuery``, and ``ovhAi_trainingJob`` when known)."""
    try:
        job = job if isinstance(job, dict) and job.get("id") else {}
        job_id = str(job.get("id") or job_id or "") or None
        run_facets: dict[str, Any] = {}
        if job:
            spec = job["spec"] if isinstance(job.get("spec"), dict) else {}
            run_facets[TRAINING_JOB_KEY] = training_job_facet(
                spec=spec, job=job, region=region, api_url=api_url, secrets=env_var_values(spec)
            )
        if job_id:
            run_facets["externalQuery"] = external_query_run.ExternalQueryRunFacet(
                externalQueryId=job_id, source=EXTERNAL_QUERY_SOURCE, producer=PRODUCER
            )
        if error:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=str(error), programmingLanguage="python", producer=PRODUCER
            )
        return OperatorLineage(run_facets=run_facets)
    except Exception as exc:
        warn("lineage.job_reference_lineage_failed", exc)
        return OperatorLineage()


def _planned_facets(planned: PlannedDataset, job_id: str | None) -> dict[str, Any]:
    info = planned.volume
    model_id = None
    if planned.is_model:
        model_id = (
            planned.namespace if planned.name == "/" else f"{planned.namespace.rstrip('/')}/{planned.name}"
        )
    return volume_dataset_facets(
        source_type=info.source_type,
        alias=info.alias,
        store_type=info.store.type if info.store else None,
        endpoint=info.store.endpoint if info.store else None,
        container=info.container,
        prefix=info.prefix,
        url=info.url,
        mount_path=info.mount_path,
        permission=info.permission,
        cache=info.cache,
        model_id=model_id,
        trained_by_job_id=job_id if planned.is_model else None,
    )


def training_job_facet(
    *,
    spec: dict[str, Any],
    job: dict[str, Any] | None = None,
    region: str | None = None,
    api_url: str | None = None,
    secrets: list[str] | None = None,
) -> OvhAiTrainingJobRunFacet:
    job = job or {}
    job_spec: dict[str, Any] = job["spec"] if isinstance(job.get("spec"), dict) else {}
    status: dict[str, Any] = job["status"] if isinstance(job.get("status"), dict) else {}
    secrets = secrets if secrets is not None else env_var_values(spec, job_spec)
    resources = {**(spec.get("resources") or {}), **(job_spec.get("resources") or {})}

    queued_at = parse_time(status.get("queuedAt"))
    started_at = parse_time(status.get("startedAt"))
    ended_at = parse_time(status.get("finalizedAt")) or parse_time(status.get("stoppedAt"))
    stopped_at = parse_time(status.get("stoppedAt")) or ended_at
    duration = as_float(status.get("duration"))
    if duration is None and started_at and stopped_at:
        duration = max((stopped_at - started_at).total_seconds(), 0.0)
    queued = max((started_at - queued_at).total_seconds(), 0.0) if queued_at and started_at else None

    info = status.get("info")
    state_info: dict[str, str] | None = None
    if isinstance(info, dict):
        state_info = {
            k: scrub(str(info[k]), secrets) or "" for k in ("code", "message") if info.get(k) is not None
        } or None
    elif isinstance(status.get("infos"), str):  # older API answers
        state_info = {"message": scrub(status["infos"], secrets) or ""}

    labels: dict[str, str] = {}
    for source in (spec.get("labels"), job_spec.get("labels")):
        if isinstance(source, dict):
            for key, value in source.items():
                if not is_sensitive_key(str(key)):
                    labels[str(key)] = scrub(str(value), secrets) or ""

    api = clean_url(api_url)
    return OvhAiTrainingJobRunFacet(
        jobId=str(job["id"]) if job.get("id") else None,
        jobName=str(job_spec.get("name") or spec.get("name") or "") or None,
        image=str(spec.get("image") or job_spec.get("image") or ""),
        flavor=str(resources["flavor"]) if resources.get("flavor") else None,
        gpu=as_int(resources.get("gpu")),
        gpuModel=str(resources["gpuModel"]) if resources.get("gpuModel") else None,
        cpu=as_int(resources.get("cpu")),
        region=_region(region, api, status),
        apiUrl=api,
        state=str(status["state"]) if status.get("state") else None,
        exitCode=as_int(status.get("exitCode")),
        stateInfo=state_info,
        queuedSeconds=queued,
        durationSeconds=duration,
        startedAt=iso(started_at),
        endedAt=iso(ended_at),
        labels=labels or None,
        envVarNames=env_var_names(spec, job_spec),
        producer=PRODUCER,
    )


def _region(region: str | None, api_url: str | None, status: dict[str, Any]) -> str | None:
    if region:
        return str(region).upper()
    from urllib.parse import urlsplit

    for url in (api_url, status.get("url"), status.get("infoUrl")):
        if not url:
            continue
        try:
            host = urlsplit(str(url)).hostname or ""
        except ValueError:
            continue
        match = _REGION_IN_HOST.search(host)
        if match:
            return match.group(1).upper()
    return None
