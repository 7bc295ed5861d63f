"""The example DAGs through real Airflow and the real OpenLineage provider, over the HTTP transport into the
Marquez-compatible sink, compared with the emulator's accounting; and with the lineage backend down."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from ovhcloud_ai_provider.testing import OVHEmulator
from ovhcloud_ai_provider.testing.dag_runner import AirflowSandbox, emulator_connections
from ovhcloud_ai_provider.testing.lineage_sink import MarquezSink, validate_event

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "ovhai_examples"
TRAINING_TOKEN = "lin-training-T0K3N-77aa"
ENDPOINTS_TOKEN = "lin-endpoints-K3Y-88bb"
EXAMPLE_ENV_SECRET = "demo-wandb-secret-0123456789"
CHAT, EMBED = "Mistral-7B-Instruct-v0.3", "bge-multilingual-gemma2"


def sandbox(tmp_path: Path, emu: OVHEmulator, transport: dict) -> AirflowSandbox:
    return AirflowSandbox(
        tmp_path / "airflow",
        REPO / "examples",
        env={
            "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "OVHAI_EXAMPLE_CHECK_INTERVAL": "1",
            **emulator_connections(emu.url, training_token=TRAINING_TOKEN, endpoints_token=ENDPOINTS_TOKEN),
        },
    )


@pytest.fixture(scope="module")
def example_lineage(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lineage-e2e")
    with OVHEmulator(training_tokens=(TRAINING_TOKEN,), endpoints_tokens=(ENDPOINTS_TOKEN,)) as emu, MarquezSink() as sink:
        airflow = sandbox(tmp_path, emu, sink.transport_config())
        results = [airflow.dags_test(d) for d in ("ovhcloud_ai_training_pipeline", "ovhcloud_ai_llm_pipeline")]
        assert [r.state for r in results] == ["success", "success"], results[-1].log[-3000:]
        sink.wait_for(lambda events: sum(e.get("eventType") == "COMPLETE" for e in events) >= 9, timeout=60)
        yield sink, emu.accounting(), results


def completes(sink: MarquezSink, job_name: str) -> list[dict]:
    return [e for e in sink.events(job_name=job_name) if e["eventType"] == "COMPLETE"]


def test_every_event_is_accepted_and_valid(example_lineage):
    sink, _, _ = example_lineage
    assert sink.events() and sink.rejected() == []
    problems = {i: validate_event(e) for i, e in enumerate(sink.events())}
    assert {i: p for i, p in problems.items() if p} == {}


def test_training_dag_shows_buckets_to_job_to_model(example_lineage):
    sink, truth, _ = example_lineage
    [submit] = completes(sink, "ovhcloud_ai_training_pipeline.submit_training")
    inputs = {(d["namespace"], d["name"]) for d in submit["inputs"]}
    [model] = submit["outputs"]
    assert inputs == {("swift://gra", "training-data/mnist")}
    assert (model["namespace"], model["name"]) == ("swift://gra", "models/resnet")
    assert model["facets"]["datasetType"]["datasetType"] == "MODEL"
    graph = sink.lineage("dataset:swift://gra:models/resnet", depth=5)["graph"]
    nodes = {n["id"] for n in graph}
    assert {
        "dataset:swift://gra:training-data/mnist",
        f"job:{NAMESPACE}:ovhcloud_ai_training_pipeline.submit_training",
        "dataset:swift://gra:models/resnet",
    } <= nodes
    [waited] = completes(sink, "ovhcloud_ai_training_pipeline.wait_for_training")
    facet = waited["run"]["facets"]["ovhAi_trainingJob"]
    assert facet["state"] == "DONE" and truth["jobs"]["by_final_state"] == {"DONE": 1}
    assert waited["run"]["facets"]["externalQuery"]["externalQueryId"] == facet["jobId"]


def test_llm_dag_shows_task_to_model_with_the_emulators_token_totals(example_lineage):
    sink, truth, _ = example_lineage
    answers = completes(sink, "ovhcloud_ai_llm_pipeline.answer_question")
    assert len(answers) == 3
    for event in answers:
        [model] = event["inputs"]
        assert model["name"] == CHAT and model["facets"]["datasetType"]["datasetType"] == "MODEL"
    chat_usage = [e["run"]["facets"]["ovhAi_llmUsage"] for e in answers]
    assert sum(u["totalTokens"] for u in chat_usage) == truth["tokens"][CHAT]["total"]
    assert sum(u["inputTokens"] for u in chat_usage) == truth["tokens"][CHAT]["prompt"]
    [embed] = completes(sink, "ovhcloud_ai_llm_pipeline.embed_documents")
    usage = embed["run"]["facets"]["ovhAi_llmUsage"]
    assert usage["totalTokens"] == truth["tokens"][EMBED]["total"] and usage["requestCount"] == 5
    graph = {n["id"] for n in sink.lineage(f"job:{NAMESPACE}:ovhcloud_ai_llm_pipeline.embed_documents", 2)["graph"]}
    assert any(node.startswith("dataset:http://127.0.0.1:") and node.endswith(f":{EMBED}") for node in graph)


def test_no_token_or_env_value_in_any_event(example_lineage):
    sink, _, _ = example_lineage
    text = json.dumps(sink.events())
    for secret in (TRAINING_TOKEN, ENDPOINTS_TOKEN, EXAMPLE_ENV_SECRET):
        assert secret not in text


def test_a_down_lineage_backend_leaves_the_dags_green(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    # Few client retries keep the test short; what matters is that emission failures never reach the task.
    transport = {
        "type": "http",
        "url": f"http://127.0.0.1:{closed}",
        "endpoint": "api/v1/lineage",
        "timeout": 2,
        "retry": {"total": 1, "backoff_factor": 0.1},
    }
    with OVHEmulator(training_tokens=(TRAINING_TOKEN,), endpoints_tokens=(ENDPOINTS_TOKEN,)) as emu:
        airflow = sandbox(tmp_path, emu, transport)
        results = [airflow.dags_test(d) for d in ("ovhcloud_ai_training_pipeline", "ovhcloud_ai_llm_pipeline")]
    assert [r.state for r in results] == ["success", "success"], results[-1].log[-3000:]
