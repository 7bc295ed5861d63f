"""``inference_lineage`` / ``training_lineage``: datasets, roles, facets, secrets, schema validity."""

from __future__ import annotations

import json

import pytest
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.serde import Serde

from ovhcloud_ai_provider.lineage.facets import PRODUCER
from ovhcloud_ai_provider.lineage.operator_lineage import OperatorLineage, inference_lineage, training_lineage
from ovhcloud_ai_provider.testing.lineage_sink import validate_event

ENV_SECRET = "s3cr3t-VALUE-never-in-lineage"
PROMPT = "PROMPT-TEXT-never-in-lineage: tell me a secret"

BASE = "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"
LLAMA = "Meta-Llama-3_3-70B-Instruct"
JOB_ID = "6a9e1d4c-8f0b-4c52-9a7e-3f8d2b1c0e55"


def _serialised(lineage: OperatorLineage) -> dict:
    return {
        "inputs": [Serde.to_dict(d) for d in lineage.inputs],
        "outputs": [Serde.to_dict(d) for d in lineage.outputs],
        "run": {k: Serde.to_dict(v) for k, v in lineage.run_facets.items()},
        "job": {k: Serde.to_dict(v) for k, v in lineage.job_facets.items()},
    }


def _volume(alias, container, mount, permission, prefix=None, **extra):
    store = {"alias": alias, "container": container}
    if prefix:
        store["prefix"] = prefix
    return {"volumeSource": {"dataStore": store}, "mountPath": mount, "permission": permission, **extra}


SPEC = {
    "image": "ovhcom/ai-training-pytorch:2.1.0",
    "name": "train-resnet",
    "command": ["python", "train.py", "--prompt", PROMPT],
    "resources": {"gpu": 1, "flavor": "l40s-1-gpu"},
    "envVars": [
        {"name": "HF_TOKEN", "value": ENV_SECRET},
        {"name": "EPOCHS", "value": "10"},
        {"name": "DB_URL", "value": f"postgres://u:{ENV_SECRET}x@db/x"},
    ],
    "labels": {"team": "vision", "api_token": ENV_SECRET, "note": f"uses {ENV_SECRET}"},
    "volumes": [
        _volume("S3GRA", "training-data", "/workspace/data", "RO", prefix="imagenet/train/", cache=True),
        _volume("GRA", "models", "/workspace/model/", "RW", prefix="resnet50"),
        _volume("S3GRA", "logs", "/workspace/logs", "RWD"),
        {
            "publicGit": {"url": "https://github.com/ovh/ai-training-examples.git"},
            "mountPath": "/code",
            "permission": "RO",
        },
        {"volumeSource": {"standalone": {}}, "mountPath": "/scratch", "permission": "RW"},
    ],
}

JOB = {
    "id": JOB_ID,
    "createdAt": "2026-03-01T09:59:00.000000Z",
    "spec": {**SPEC, "resources": {"gpu": 1, "flavor": "l40s-1-gpu", "gpuModel": "L40S", "cpu": 13}, "labels": {
        **SPEC["labels"], "ovh/id": JOB_ID, "ovh/type": "job"}},
    "status": {
        "state": "DONE",
        "exitCode": 0,
        "info": {"code": "JOB_DONE", "message": "Job is done"},
        "queuedAt": "2026-03-01T09:59:00.000000Z",
        "startedAt": "2026-03-01T10:00:00.500000Z",
        "stoppedAt": "2026-03-01T11:00:00.500000Z",
        "finalizedAt": "2026-03-01T11:00:03Z",
        "duration": 3600,
        "url": f"https://{JOB_ID}.job.gra.ai.cloud.ovh.net",
    },
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- inference
def test_inference_start_has_the_model_input_and_no_usage():
    lineage = inference_lineage(endpoint_base_url=BASE, model=LLAMA, operation="chat")
    assert lineage.outputs == [] and lineage.run_facets == {}
    [model] = lineage.inputs
    assert isinstance(model, InputDataset)
    assert (model.namespace, model.name) == ("https://oai.endpoints.kepler.ai.cloud.ovh.net", LLAMA)
    facets = Serde.to_dict(model)["facets"]
    assert facets["datasetType"]["datasetType"] == "MODEL" and facets["datasetType"]["subType"] == "LLM"
    assert facets["ovhAi_model"] | {"_producer": "", "_schemaURL": ""} == {
        "_producer": "",
        "_schemaURL": "",
        "modelId": LLAMA,
        "provider": "ovhcloud-ai-endpoints",
        "task": "chat",
    }
    assert facets["dataSource"]["uri"] == "https://oai.endpoints.kepler.ai.cloud.ovh.net"
    assert all(f["_producer"] == PRODUCER for f in facets.values())


def test_inference_complete_with_usage(make_event, spec_dir):
    lineage = inference_lineage(
        endpoint_base_url=BASE,
        model=LLAMA,
        operation="chat",
        usage={"prompt_tokens": 812, "completion_tokens": 240, "total_tokens": 1052},
        request_count=2,
        estimated_cost=0.00071,
        currency="EUR",
        response_model=LLAMA,
    )
    usage = Serde.to_dict(lineage.run_facets["ovhAi_llmUsage"])
    assert {k: v for k, v in usage.items() if not k.startswith("_")} == {
        "provider": "ovhcloud-ai-endpoints",
        "operation": "chat",
        "endpoint": BASE,
        "requestModel": LLAMA,
        "responseModel": LLAMA,
        "requestCount": 2,
        "inputTokens": 812,
        "outputTokens": 240,
        "totalTokens": 1052,
        "estimatedCost": 0.00071,
        "currency": "EUR",
    }
    assert validate_event(make_event(lineage), spec_dir=spec_dir) == []


def test_embeddings_usage_without_completion_tokens(make_event, spec_dir):
    lineage = inference_lineage(
        endpoint_base_url="http://127.0.0.1:8765/v1",
        model="bge-m3",
        operation="embeddings",
        usage={"prompt_tokens": 64, "total_tokens": 64},
        request_count=3,
    )
    [model] = lineage.inputs
    assert (model.namespace, model.name) == ("http://127.0.0.1:8765", "bge-m3")
    assert Serde.to_dict(model)["facets"]["datasetType"]["subType"] == "EMBEDDING"
    usage = lineage.run_facets["ovhAi_llmUsage"]
    assert (usage.inputTokens, usage.outputTokens, usage.totalTokens, usage.estimatedCost) == (
        64,
        0,
        64,
        None,
    )
    assert validate_event(make_event(lineage, event_type="FAIL"), spec_dir=spec_dir) == []


def test_inference_usage_totals_are_derived_and_clamped():
    lineage = inference_lineage(
        endpoint_base_url=BASE, model=LLAMA, operation="chat", usage={"prompt_tokens": 5, "completion_tokens": 7},
        request_count=-1, estimated_cost=-3, currency="EUR",
    )  # fmt: skip
    usage = lineage.run_facets["ovhAi_llmUsage"]
    assert (usage.totalTokens, usage.requestCount, usage.estimatedCost, usage.currency) == (12, 0, None, None)


def test_inference_never_raises():
    lineage = inference_lineage(endpoint_base_url=None, model=None, operation=None, usage="garbage")  # type: ignore[arg-type]
    assert isinstance(lineage, OperatorLineage)


# ---------------------------------------------------------------------------------------------- training
def _by_name(datasets):
    return {(d.namespace, d.name): d for d in datasets}


def test_training_start_roles_from_permissions(make_event, spec_dir):
    lineage = training_lineage(spec=SPEC, region="gra", api_url="https://gra.training.ai.cloud.ovh.net",
                               model_output_mount="/workspace/model")  # fmt: skip
    inputs, outputs = _by_name(lineage.inputs), _by_name(lineage.outputs)
    assert set(inputs) == {
        ("s3://training-data", "imagenet/train"),
        ("https://github.com", "ovh/ai-training-examples"),
    }
    assert set(outputs) == {("swift://gra", "models/resnet50"), ("s3://logs", "/")}
    assert all(isinstance(d, InputDataset) for d in lineage.inputs)
    assert all(isinstance(d, OutputDataset) for d in lineage.outputs)

    data = Serde.to_dict(inputs[("s3://training-data", "imagenet/train")])["facets"]
    assert data["datasetType"]["datasetType"] == "FILE"
    assert data["dataSource"]["name"] == "S3GRA" and "uri" not in data["dataSource"]
    assert {k: v for k, v in data["ovhAi_volume"].items() if not k.startswith("_")} == {
        "sourceType": "dataStore",
        "alias": "S3GRA",
        "storeType": "s3",
        "container": "training-data",
        "prefix": "imagenet/train",
        "mountPath": "/workspace/data",
        "permission": "RO",
        "cache": True,
    }
    model = Serde.to_dict(outputs[("swift://gra", "models/resnet50")])["facets"]
    assert model["datasetType"]["datasetType"] == "MODEL"
    assert model["dataSource"] == model["dataSource"] | {
        "name": "GRA",
        "uri": "https://storage.gra.cloud.ovh.net",
    }
    assert model["ovhAi_model"]["task"] == "training-output"
    assert model["ovhAi_model"]["modelId"] == "swift://gra/models/resnet50"
    assert "trainedByJobId" not in model["ovhAi_model"] and "version" not in model  # no job id yet
    logs = Serde.to_dict(outputs[("s3://logs", "/")])["facets"]
    assert logs["datasetType"]["datasetType"] == "FILE" and "ovhAi_model" not in logs

    job_facet = Serde.to_dict(lineage.run_facets["ovhAi_trainingJob"])
    assert job_facet["image"] == SPEC["image"] and job_facet["region"] == "GRA"
    assert job_facet["apiUrl"] == "https://gra.training.ai.cloud.ovh.net"
    assert "jobId" not in job_facet and "state" not in job_facet
    assert "externalQuery" not in lineage.run_facets and "errorMessage" not in lineage.run_facets
    assert validate_event(make_event(lineage, event_type="START"), spec_dir=spec_dir) == []


def test_training_complete_with_job(make_event, spec_dir):
    lineage = training_lineage(spec=SPEC, job=JOB, model_output_mount="/workspace/model/")
    run = {k: Serde.to_dict(v) for k, v in lineage.run_facets.items()}
    assert run["externalQuery"]["externalQueryId"] == JOB_ID
    assert run["externalQuery"]["source"] == "ovhcloud-ai-training"
    job = {k: v for k, v in run["ovhAi_trainingJob"].items() if not k.startswith("_")}
    assert job == {
        "jobId": JOB_ID,
        "jobName": "train-resnet",
        "image": "ovhcom/ai-training-pytorch:2.1.0",
        "flavor": "l40s-1-gpu",
        "gpu": 1,
        "gpuModel": "L40S",
        "cpu": 13,
        "region": "GRA",  # from the job URL
        "state": "DONE",
        "exitCode": 0,
        "stateInfo": {"code": "JOB_DONE", "message": "Job is done"},
        "queuedSeconds": 60.5,
        "durationSeconds": 3600.0,
        "startedAt": "2026-03-01T10:00:00.500000+00:00",
        "endedAt": "2026-03-01T11:00:03+00:00",
        "labels": {"team": "vision", "note": "uses ***", "ovh/id": JOB_ID, "ovh/type": "job"},
        "envVarNames": ["HF_TOKEN", "EPOCHS", "DB_URL"],
    }
    model = Serde.to_dict(_by_name(lineage.outputs)[("swift://gra", "models/resnet50")])["facets"]
    assert model["ovhAi_model"]["trainedByJobId"] == JOB_ID
    assert model["version"]["datasetVersion"] == JOB_ID
    assert validate_event(make_event(lineage), spec_dir=spec_dir) == []


def test_training_failure_has_error_message(make_event, spec_dir):
    failed = {**JOB, "status": {"state": "FAILED", "exitCode": 137,
                                "info": {"code": "JOB_FAILED", "message": f"killed, token={ENV_SECRET}"}}}  # fmt: skip
    lineage = training_lineage(spec=SPEC, job=failed, error=f"GPU job FAILED: exit code 137 ({ENV_SECRET})")
    error = Serde.to_dict(lineage.run_facets["errorMessage"])
    assert error["message"] == "GPU job FAILED: exit code 137 (***)"
    assert error["programmingLanguage"] == "python" and error["_producer"] == PRODUCER
    job = lineage.run_facets["ovhAi_trainingJob"]
    assert (job.state, job.exitCode, job.stateInfo) == (
        "FAILED",
        137,
        {"code": "JOB_FAILED", "message": "killed, token=***"},
    )
    assert validate_event(make_event(lineage, event_type="FAIL"), spec_dir=spec_dir) == []


def test_model_output_mount_on_a_read_only_volume_is_not_a_model():
    lineage = training_lineage(spec=SPEC, model_output_mount="/workspace/data")
    assert all("ovhAi_model" not in (d.facets or {}) for d in [*lineage.inputs, *lineage.outputs])


def test_volume_target_source_is_input_and_target_is_output():
    spec = {"image": "i", "volumes": [{
        "volumeSource": {"dataStore": {"alias": "GRA", "container": "raw"}},
        "volumeTarget": {"targetDataStore": {"alias": "S3GRA", "container": "clean", "prefix": "v2"}},
        "mountPath": "/d", "permission": "RW"}]}  # fmt: skip
    lineage = training_lineage(spec=spec, model_output_mount="/d")
    assert set(_by_name(lineage.inputs)) == {("swift://gra", "raw")}
    assert set(_by_name(lineage.outputs)) == {("s3://clean", "v2")}
    assert lineage.outputs[0].facets["datasetType"].datasetType == "MODEL"


def test_duplicate_volumes_are_reported_once():
    spec = {"image": "i", "volumes": [_volume("S3GRA", "d", "/a", "RO"), _volume("S3GRA", "d", "/b", "RO")]}
    assert len(training_lineage(spec=spec).inputs) == 1


def test_volumes_come_from_the_job_when_the_spec_has_none():
    lineage = training_lineage(spec={}, job=JOB)
    assert len(lineage.inputs) == 2 and len(lineage.outputs) == 2
    assert lineage.run_facets["ovhAi_trainingJob"].image == SPEC["image"]


def test_training_never_raises():
    lineage = training_lineage(spec=None, job="nope", error=object())  # type: ignore[arg-type]
    assert isinstance(lineage, OperatorLineage)
    assert training_lineage(spec={"volumes": "bad"}).inputs == []


@pytest.mark.parametrize("event_type", ["START", "COMPLETE", "FAIL"])
def test_no_secret_or_prompt_anywhere(make_event, event_type):
    """Env var values and prompts never reach any serialised output, whatever path produced it."""
    lineages = [
        training_lineage(spec=SPEC, job=JOB if event_type != "START" else None, model_output_mount="/workspace/model",
                         error=f"failed with {ENV_SECRET}" if event_type == "FAIL" else None,
                         api_url=f"https://user:{ENV_SECRET}@gra.training.ai.cloud.ovh.net/?k={ENV_SECRET}"),
        inference_lineage(endpoint_base_url=f"https://key:{ENV_SECRET}@oai.endpoints.kepler.ai.cloud.ovh.net/v1?k={ENV_SECRET}",
                          model=LLAMA, operation="chat", usage={"prompt_tokens": 1}),
    ]  # fmt: skip
    for lineage in lineages:
        for text in (
            json.dumps(_serialised(lineage)),
            json.dumps(make_event(lineage, event_type=event_type)),
        ):
            assert ENV_SECRET not in text
            assert "PROMPT-TEXT" not in text
            assert "api_token" not in text  # secret-looking label dropped entirely
