"""Custom OpenLineage facets of the OVHcloud AI provider (prefix ``ovhAi``) and the dataset-facet builders.

Each class subclasses an ``openlineage.client.facet_v2`` base class; ``_get_schema()`` returns the versioned URL
of its JSON Schema (``lineage/facets/<Name>.json`` in the repository at the release tag, also shipped in the
package under ``ovhcloud_ai_provider/lineage/schemas/``) and ``_producer`` defaults to this provider at that tag
(the Airflow OpenLineage provider would otherwise stamp its own URL on every facet).

=================================  =================  ==========================
class                              key in the event   entity
=================================  =================  ==========================
``OvhAiLlmUsageRunFacet``          ``ovhAi_llmUsage``     run
``OvhAiTrainingJobRunFacet``       ``ovhAi_trainingJob``  run
``OvhAiVolumeDatasetFacet``        ``ovhAi_volume``       dataset
``OvhAiModelDatasetFacet``         ``ovhAi_model``        dataset
=================================  =================  ==========================

No field ever holds a prompt, a completion, a token or an environment variable value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import attr
from openlineage.client.facet_v2 import DatasetFacet, RunFacet

from ovhcloud_ai_provider import __version__

__all__ = [
    "FACET_CLASSES",
    "LLM_USAGE_KEY",
    "MODEL_KEY",
    "PRODUCER",
    "SCHEMA_DIR",
    "TRAINING_JOB_KEY",
    "VOLUME_KEY",
    "OvhAiLlmUsageRunFacet",
    "OvhAiModelDatasetFacet",
    "OvhAiTrainingJobRunFacet",
    "OvhAiVolumeDatasetFacet",
    "schema_id",
    "schema_url",
]

REPOSITORY = "ovhcloud-ai-airflow/airflow-provider-ovhcloud-ai"
RELEASE_TAG = f"v{__version__}"
#: ``_producer`` of every facet (and of the standard facets) this provider builds.
PRODUCER = f"https://github.com/{REPOSITORY}/tree/{RELEASE_TAG}"
SCHEMA_BASE = f"https://raw.githubusercontent.com/{REPOSITORY}/{RELEASE_TAG}/lineage/facets"
#: The JSON Schemas shipped in the package (identical to the repository's ``lineage/facets/``).
SCHEMA_DIR = Path(__file__).with_name("schemas")

LLM_USAGE_KEY = "ovhAi_llmUsage"
TRAINING_JOB_KEY = "ovhAi_trainingJob"
VOLUME_KEY = "ovhAi_volume"
MODEL_KEY = "ovhAi_model"


def schema_id(name: str) -> str:
    """``$id`` of the JSON Schema file of facet class ``name``."""
    return f"{SCHEMA_BASE}/{name}.json"


def schema_url(name: str) -> str:
    """``_schemaURL`` of facet class ``name``: ``<$id>#/$defs/<name>``."""
    return f"{schema_id(name)}#/$defs/{name}"


class _OvhAiFacetMixin:
    """Default ``_producer`` = this provider, not the global one the Airflow adapter sets."""

    _producer: str

    def __attrs_post_init__(self) -> None:
        if not self._producer:
            self._producer = PRODUCER
        super().__attrs_post_init__()  # type: ignore[misc]


@attr.define(kw_only=True)
class OvhAiLlmUsageRunFacet(_OvhAiFacetMixin, RunFacet):
    """Token usage of the AI Endpoints calls a task made (names follow OpenTelemetry ``gen_ai.*``)."""

    provider: str = "ovhcloud-ai-endpoints"
    operation: str  # "chat" | "embeddings"
    endpoint: str  # base URL of the OpenAI-compatible API, without credentials
    requestModel: str
    responseModel: str | None = None
    requestCount: int = 0
    inputTokens: int = 0
    outputTokens: int = 0
    totalTokens: int = 0
    estimatedCost: float | None = None
    currency: str | None = None

    _additional_skip_redact: ClassVar[list[str]] = [
        "provider",
        "operation",
        "requestModel",
        "responseModel",
        "requestCount",
        "inputTokens",
        "outputTokens",
        "totalTokens",
        "estimatedCost",
        "currency",
    ]

    @staticmethod
    def _get_schema() -> str:
        return schema_url("OvhAiLlmUsageRunFacet")


@attr.define(kw_only=True)
class OvhAiTrainingJobRunFacet(_OvhAiFacetMixin, RunFacet):
    """An AI Training job: what was asked (image, resources) and, once known, how it ended."""

    jobId: str | None = None
    jobName: str | None = None
    image: str
    flavor: str | None = None
    gpu: int | None = None
    gpuModel: str | None = None
    cpu: int | None = None
    region: str | None = None
    apiUrl: str | None = None
    state: str | None = None
    exitCode: int | None = None
    stateInfo: dict[str, str] | None = None
    queuedSeconds: float | None = None
    durationSeconds: float | None = None
    startedAt: str | None = None
    endedAt: str | None = None
    labels: dict[str, str] | None = None
    envVarNames: list[str] = attr.field(factory=list)

    _additional_skip_redact: ClassVar[list[str]] = [
        "jobId",
        "jobName",
        "flavor",
        "gpu",
        "gpuModel",
        "cpu",
        "region",
        "state",
        "exitCode",
        "queuedSeconds",
        "durationSeconds",
        "startedAt",
        "endedAt",
        "envVarNames",
    ]

    @staticmethod
    def _get_schema() -> str:
        return schema_url("OvhAiTrainingJobRunFacet")


@attr.define(kw_only=True)
class OvhAiVolumeDatasetFacet(_OvhAiFacetMixin, DatasetFacet):
    """How an AI Training job mounted this dataset."""

    sourceType: str
    alias: str | None = None
    storeType: str | None = None
    container: str | None = None
    prefix: str | None = None
    url: str | None = None
    mountPath: str | None = None
    permission: str | None = None  # RO | RW | RWD
    cache: bool | None = None

    _additional_skip_redact: ClassVar[list[str]] = [
        "sourceType",
        "alias",
        "storeType",
        "container",
        "prefix",
        "mountPath",
        "permission",
        "cache",
    ]

    @staticmethod
    def _get_schema() -> str:
        return schema_url("OvhAiVolumeDatasetFacet")


@attr.define(kw_only=True)
class OvhAiModelDatasetFacet(_OvhAiFacetMixin, DatasetFacet):
    """A model: served by AI Endpoints (``chat``/``embeddings``) or produced by a training job."""

    modelId: str
    provider: str  # ovhcloud-ai-endpoints | ovhcloud-ai-training
    task: str  # chat | embeddings | training-output
    trainedByJobId: str | None = None

    _additional_skip_redact: ClassVar[list[str]] = ["modelId", "provider", "task", "trainedByJobId"]

    @staticmethod
    def _get_schema() -> str:
        return schema_url("OvhAiModelDatasetFacet")


#: key in the event -> class
FACET_CLASSES: dict[str, type] = {
    LLM_USAGE_KEY: OvhAiLlmUsageRunFacet,
    TRAINING_JOB_KEY: OvhAiTrainingJobRunFacet,
    VOLUME_KEY: OvhAiVolumeDatasetFacet,
    MODEL_KEY: OvhAiModelDatasetFacet,
}


# ---------------------------------------------------------------------------------------------- builders
def model_dataset_facets(
    *, namespace: str, model: str, task: str, provider: str = "ovhcloud-ai-endpoints"
) -> dict[str, Any]:
    """Dataset facets of a model served by AI Endpoints: ``datasetType`` MODEL, ``dataSource``, ``ovhAi_model``."""
    from openlineage.client.facet_v2 import dataset_type_dataset, datasource_dataset

    sub_type = {"chat": "LLM", "embeddings": "EMBEDDING"}.get(task)
    return {
        "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
            datasetType="MODEL", subType=sub_type, producer=PRODUCER
        ),
        "dataSource": datasource_dataset.DatasourceDatasetFacet(
            name=provider, uri=namespace, producer=PRODUCER
        ),
        MODEL_KEY: OvhAiModelDatasetFacet(modelId=model, provider=provider, task=task, producer=PRODUCER),
    }


def volume_dataset_facets(
    *,
    source_type: str,
    alias: str | None = None,
    store_type: str | None = None,
    endpoint: str | None = None,
    container: str | None = None,
    prefix: str | None = None,
    url: str | None = None,
    mount_path: str | None = None,
    permission: str | None = None,
    cache: bool | None = None,
    model_id: str | None = None,
    trained_by_job_id: str | None = None,
) -> dict[str, Any]:
    """Dataset facets of a volume: ``datasetType`` (FILE, or MODEL when ``model_id`` is given), ``dataSource``,
    ``ovhAi_volume`` and, for a produced model, ``ovhAi_model`` + ``version`` (= the job id)."""
    from openlineage.client.facet_v2 import dataset_type_dataset, dataset_version_dataset, datasource_dataset

    facets: dict[str, Any] = {
        "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(
            datasetType="MODEL" if model_id else "FILE", producer=PRODUCER
        ),
    }
    source_name = alias or _host_of(url) or source_type
    facets["dataSource"] = datasource_dataset.DatasourceDatasetFacet(
        name=source_name, uri=endpoint or _origin_of(url), producer=PRODUCER
    )
    facets[VOLUME_KEY] = OvhAiVolumeDatasetFacet(
        sourceType=source_type,
        alias=alias,
        storeType=store_type,
        container=container,
        prefix=prefix,
        url=url,
        mountPath=mount_path,
        permission=permission,
        cache=cache,
        producer=PRODUCER,
    )
    if model_id:
        facets[MODEL_KEY] = OvhAiModelDatasetFacet(
            modelId=model_id,
            provider="ovhcloud-ai-training",
            task="training-output",
            trainedByJobId=trained_by_job_id,
            producer=PRODUCER,
        )
        if trained_by_job_id:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=trained_by_job_id, producer=PRODUCER
            )
    return facets


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
