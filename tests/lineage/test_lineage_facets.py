"""Custom facets: schema files (package == repository), versioned URLs, serialisation and validation."""

from __future__ import annotations

import json
from pathlib import Path

import attr
import pytest
from openlineage.client.facet_v2 import DatasetFacet, RunFacet
from openlineage.client.serde import Serde

from ovhcloud_ai_provider import __version__
from ovhcloud_ai_provider.lineage.facets import (
    FACET_CLASSES,
    PRODUCER,
    SCHEMA_DIR,
    OvhAiLlmUsageRunFacet,
    OvhAiModelDatasetFacet,
    OvhAiTrainingJobRunFacet,
    OvhAiVolumeDatasetFacet,
    schema_id,
)
from ovhcloud_ai_provider.testing.lineage_sink import validate_event

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL = REPO / "lineage" / "facets"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"

SAMPLES = {
    "ovhAi_llmUsage": OvhAiLlmUsageRunFacet(
        operation="chat",
        endpoint="https://oai.endpoints.kepler.ai.cloud.ovh.net/v1",
        requestModel="Meta-Llama-3_3-70B-Instruct",
        responseModel="Meta-Llama-3_3-70B-Instruct",
        requestCount=2,
        inputTokens=812,
        outputTokens=240,
        totalTokens=1052,
        estimatedCost=0.00071,
        currency="EUR",
    ),
    "ovhAi_trainingJob": OvhAiTrainingJobRunFacet(
        jobId="6a9e1d4c-8f0b-4c52-9a7e-3f8d2b1c0e55",
        jobName="train",
        image="ovhcom/ai-training-pytorch:2.1.0",
        flavor="l40s-1-gpu",
        gpu=1,
        gpuModel="L40S",
        region="GRA",
        apiUrl="https://gra.training.ai.cloud.ovh.net",
        state="DONE",
        exitCode=0,
        stateInfo={"code": "JOB_DONE", "message": "Job is done"},
        queuedSeconds=12.5,
        durationSeconds=3600.0,
        startedAt="2026-03-01T10:00:00+00:00",
        endedAt="2026-03-01T11:00:03+00:00",
        labels={"team": "vision"},
        envVarNames=["EPOCHS"],
    ),
    "ovhAi_volume": OvhAiVolumeDatasetFacet(
        sourceType="dataStore",
        alias="GRA",
        storeType="swift",
        container="c",
        prefix="p",
        mountPath="/data",
        permission="RO",
        cache=False,
    ),
    "ovhAi_model": OvhAiModelDatasetFacet(
        modelId="bge-m3", provider="ovhcloud-ai-endpoints", task="embeddings"
    ),
}


def _schema(path: Path) -> dict:
    return json.loads(path.read_text())


def test_package_schemas_are_identical_to_repository_schemas():
    package = {p.name: p.read_bytes() for p in SCHEMA_DIR.glob("*.json")}
    repository = {p.name: p.read_bytes() for p in TOP_LEVEL.glob("*.json")}
    assert package, "no schema shipped in the package"
    assert package == repository


def test_schema_files_cover_exactly_the_facet_classes():
    names = {cls.__name__ for cls in FACET_CLASSES.values()}
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} == names


@pytest.mark.parametrize(("key", "cls"), sorted(FACET_CLASSES.items()))
def test_schema_shape_and_versioned_urls(key, cls):
    name = cls.__name__
    doc = _schema(SCHEMA_DIR / f"{name}.json")
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == schema_id(name)
    assert f"/v{__version__}/lineage/facets/{name}.json" in doc["$id"]  # immutable: release tag, not a branch
    assert doc["properties"] == {key: {"$ref": f"#/$defs/{name}"}}
    base, body = doc["$defs"][name]["allOf"]
    expected_base = "RunFacet" if issubclass(cls, RunFacet) else "DatasetFacet"
    assert issubclass(cls, RunFacet if expected_base == "RunFacet" else DatasetFacet)
    assert base == {"$ref": CORE + expected_base}
    # the schema documents exactly the attrs fields (the base facet's _producer/_schemaURL/_deleted aside)
    fields = {f.name for f in attr.fields(cls) if not f.name.startswith("_")}
    assert set(body["properties"]) == fields
    assert set(body["required"]) <= fields
    instance = SAMPLES[key]
    assert instance._schemaURL == f"{doc['$id']}#/$defs/{name}"
    assert cls._get_schema() == instance._schemaURL


def test_producer_is_this_provider_at_its_release_tag():
    assert (
        f"https://github.com/ovhcloud-ai-airflow/airflow-provider-ovhcloud-ai/tree/v{__version__}" == PRODUCER
    )
    for facet in SAMPLES.values():
        assert facet._producer == PRODUCER
    explicit = OvhAiModelDatasetFacet(
        modelId="m", provider="p", task="chat", producer="https://example.com/x"
    )
    assert explicit._producer == "https://example.com/x"


def test_producer_survives_the_airflow_adapter_global_producer():
    from openlineage.client.facet_v2 import set_producer

    set_producer("https://github.com/apache/airflow/tree/providers-openlineage/2.20.3")
    try:
        assert OvhAiModelDatasetFacet(modelId="m", provider="p", task="chat")._producer == PRODUCER
    finally:
        from openlineage.client.constants import DEFAULT_PRODUCER

        set_producer(DEFAULT_PRODUCER)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_facets_serialise_and_validate(key, spec_dir):
    from jsonschema import Draft202012Validator, FormatChecker

    from ovhcloud_ai_provider.testing.lineage_sink import _registry

    facet = Serde.to_dict(SAMPLES[key])
    assert facet["_producer"] == PRODUCER
    registry, _ = _registry(str(spec_dir))
    validator = Draft202012Validator(
        {"$ref": facet["_schemaURL"]}, registry=registry, format_checker=FormatChecker()
    )
    assert [e.message for e in validator.iter_errors(facet)] == []
    # and the schemas are not vacuous: a wrong type is reported
    broken = dict(facet)
    first_typed = next(k for k in facet if not k.startswith("_"))
    broken[first_typed] = {"not": "a scalar"} if not isinstance(facet[first_typed], dict) else 1
    assert list(validator.iter_errors(broken))


def test_required_fields_are_enforced(spec_dir):
    from jsonschema import Draft202012Validator

    from ovhcloud_ai_provider.testing.lineage_sink import _registry

    registry, _ = _registry(str(spec_dir))
    facet = Serde.to_dict(SAMPLES["ovhAi_llmUsage"])
    del facet["inputTokens"]
    validator = Draft202012Validator({"$ref": facet["_schemaURL"]}, registry=registry)
    assert any("inputTokens" in e.message for e in validator.iter_errors(facet))


def test_facet_under_the_wrong_key_is_reported(make_event, spec_dir):
    from airflow.providers.openlineage.extractors import OperatorLineage

    event = make_event(OperatorLineage(run_facets={"llmUsage": SAMPLES["ovhAi_llmUsage"]}))
    problems = validate_event(event, spec_dir=spec_dir)
    assert any("key 'llmUsage'" in p for p in problems), problems


def test_airflow_redactor_keeps_numbers_and_masks_registered_secrets():
    """The Airflow adapter passes every facet through its secrets redactor: our numbers and ids survive it,
    and a secret Airflow knows about is masked even in free text (defence in depth on top of our scrubbing)."""
    from airflow.providers.openlineage.utils.utils import OpenLineageRedactor, SecretsMasker

    masker = SecretsMasker()
    masker.add_mask("hunter2-registered-secret")
    redactor = OpenLineageRedactor.from_masker(masker)
    usage = redactor.redact(SAMPLES["ovhAi_llmUsage"], max_depth=20)
    assert (usage.inputTokens, usage.outputTokens, usage.totalTokens) == (812, 240, 1052)
    assert usage.requestModel == "Meta-Llama-3_3-70B-Instruct"
    job = attr.evolve(
        SAMPLES["ovhAi_trainingJob"],
        stateInfo={"code": "JOB_FAILED", "message": "auth failed for hunter2-registered-secret"},
    )
    redacted = redactor.redact(job, max_depth=20)
    assert "hunter2" not in json.dumps(Serde.to_dict(redacted))
    assert redacted.jobId == job.jobId and redacted.envVarNames == ["EPOCHS"]


def test_sync_script_reports_schemas_up_to_date():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(REPO / "lineage" / "sync_schemas.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
