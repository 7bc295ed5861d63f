"""End to end: real Airflow 3 + the real OpenLineage provider, HTTP transport to the Marquez-compatible sink,
the provider's operators and hooks against the emulator. Every received event is validated offline.

The OpenLineage listener is registered (or not) when Airflow loads its plugins, and the session conftest
disables OpenLineage for everything else, so the DAGs run in a subprocess with their own AIRFLOW_HOME and an
OpenLineage configuration pointing at the sink (the documented ``AIRFLOW__OPENLINEAGE__TRANSPORT`` form).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ovhcloud_ai_provider.testing.lineage_sink import MarquezSink, validate_event

pytestmark = pytest.mark.airflow

DAGS = Path(__file__).resolve().parent / "dags"
NAMESPACE = "ovh_lineage_test"
ENV_SECRET = "s3cr3t-VALUE-never-in-lineage"
PROMPT = "PROMPT-TEXT-never-in-lineage"
AIRFLOW_PRODUCER = "https://github.com/apache/airflow/tree/providers-openlineage/"

RUNNER = textwrap.dedent(
    """
    import importlib.util, json, sys
    spec = importlib.util.spec_from_file_location("lineage_dags", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    sys.modules["lineage_dags"] = module
    spec.loader.exec_module(module)
    states = {}
    for dag in (module.pipeline, module.failing):
        run = dag.test()
        states[dag.dag_id] = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}
    print("STATES=" + json.dumps(states))
    """
)


@pytest.fixture(scope="module")
def lineage_run(tmp_path_factory, ovh_emulator_session):
    """Run both DAGs once; yield (sink, task states)."""
    emulator = ovh_emulator_session
    emulator.reset()
    emulator.configure(time_scale=0.05)
    home = tmp_path_factory.mktemp("airflow-lineage")
    runner = home / "run_dags.py"
    runner.write_text(RUNNER)
    config = emulator.config
    with MarquezSink(port=0) as sink:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "OPENLINEAGE"))}
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
                "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
                "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(sink.transport_config()),
                "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT": json.dumps(
                    {
                        "conn_type": "ovhcloud_ai_endpoints",
                        "host": f"{emulator.url}/v1",
                        "password": config.endpoints_tokens[0],
                    }
                ),
                "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT": json.dumps(
                    {
                        "conn_type": "ovhcloud_ai_training",
                        "host": emulator.url,
                        "login": config.region,
                        "password": config.training_tokens[0],
                    }
                ),
            }
        )
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        result = subprocess.run(
            [sys.executable, str(runner), str(DAGS / "lineage_dags.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-5000:]
        states = json.loads(
            next(line[7:] for line in result.stdout.splitlines() if line.startswith("STATES="))
        )
        # emission happens in forked children: wait until each task's terminal event arrived
        sink.wait_for(
            lambda events: sum(1 for e in events if e.get("eventType") in ("COMPLETE", "FAIL")) >= 7,
            timeout=30,
        )
        yield sink, states, output
    emulator.reset()  # restores the emulator's settings for the tests that follow


def _task_events(sink: MarquezSink, dag_id: str, task_id: str) -> dict[str, dict]:
    events = sink.events(job_name=f"{dag_id}.{task_id}")
    return {e["eventType"]: e for e in events}


def _datasets(event: dict, side: str) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in event.get(side) or []}


def test_dags_ran_and_every_event_was_accepted(lineage_run):
    sink, states, _ = lineage_run
    assert states["ovhai_lineage_pipeline"] == {"prepare": "success", "train": "success", "ask": "success",
                                                "embed": "success"}  # fmt: skip
    assert states["ovhai_lineage_fail"] == {"train": "failed"}
    assert sink.rejected() == [], sink.rejected()
    for task in ("prepare", "train", "ask", "embed"):
        assert {"START", "COMPLETE"} <= set(_task_events(sink, "ovhai_lineage_pipeline", task)), task
    assert {"START", "FAIL"} <= set(_task_events(sink, "ovhai_lineage_fail", "train"))


def test_every_event_validates_against_the_schemas(lineage_run, spec_dir):
    sink, _, _ = lineage_run
    problems = {i: validate_event(e, spec_dir=spec_dir) for i, e in enumerate(sink.events())}
    assert {i: p for i, p in problems.items() if p} == {}
    ours = [
        facet
        for event in sink.events()
        for facet in [*(event["run"].get("facets") or {}).items(),
                      *((k, v) for d in [*event.get("inputs", []), *event.get("outputs", [])]
                        for k, v in (d.get("facets") or {}).items())]
        if facet[0].startswith("ovhAi_")
    ]  # fmt: skip
    assert ours and all(not v["_producer"].startswith(AIRFLOW_PRODUCER) for _, v in ours)


def test_no_secret_or_prompt_in_any_event(lineage_run):
    sink, _, _ = lineage_run
    for event in sink.events():
        text = json.dumps(event)
        assert ENV_SECRET not in text, event["job"]["name"]
        assert PROMPT not in text, event["job"]["name"]


def test_training_operator_lineage(lineage_run):
    sink, _, _ = lineage_run
    events = _task_events(sink, "ovhai_lineage_pipeline", "train")
    start, complete = events["START"], events["COMPLETE"]
    assert _datasets(start, "inputs") == {("s3://prepared", "v1")}
    assert _datasets(start, "outputs") == {("swift://gra", "models/resnet")}
    assert _datasets(complete, "inputs") == {("s3://prepared", "v1")}
    [model] = complete["outputs"]
    assert model["facets"]["datasetType"]["datasetType"] == "MODEL"
    job = complete["run"]["facets"]["ovhAi_trainingJob"]
    assert (
        job["state"] == "DONE" and job["exitCode"] == 0 and job["image"] == "ovhcom/ai-training-pytorch:2.4.0"
    )
    assert job["flavor"] == "l4-1-gpu" and job["gpu"] == 1
    assert set(job["envVarNames"]) >= {"EPOCHS", "HF_TOKEN"}
    assert model["facets"]["ovhAi_model"]["trainedByJobId"] == job["jobId"]
    assert complete["run"]["facets"]["externalQuery"] == complete["run"]["facets"]["externalQuery"] | {
        "externalQueryId": job["jobId"],
        "source": "ovhcloud-ai-training",
    }
    assert model["facets"]["version"]["datasetVersion"] == job["jobId"]


def test_failed_training_has_error_and_final_state(lineage_run):
    sink, _, _ = lineage_run
    fail = _task_events(sink, "ovhai_lineage_fail", "train")["FAIL"]
    facets = fail["run"]["facets"]
    assert facets["ovhAi_trainingJob"]["state"] == "FAILED"
    assert "errorMessage" in facets
    assert _datasets(fail, "inputs") == {("s3://prepared", "v1")}
    run = sink.run(fail["run"]["runId"])
    assert run["state"] == "FAILED"


def test_inference_operator_lineage(lineage_run):
    sink, _, _ = lineage_run
    origin = sink.events(job_name="ovhai_lineage_pipeline.ask")[0]["inputs"][0]["namespace"]
    assert origin.startswith("http://127.0.0.1:")
    ask = _task_events(sink, "ovhai_lineage_pipeline", "ask")
    assert _datasets(ask["START"], "inputs") == {(origin, "Mistral-7B-Instruct-v0.3")}
    usage = ask["COMPLETE"]["run"]["facets"]["ovhAi_llmUsage"]
    assert usage["operation"] == "chat" and usage["requestCount"] == 1
    assert usage["inputTokens"] > 0 and usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    embed = _task_events(sink, "ovhai_lineage_pipeline", "embed")["COMPLETE"]
    [model] = embed["inputs"]
    assert (model["name"], model["facets"]["datasetType"]["subType"]) == ("BGE-M3", "EMBEDDING")
    assert embed["run"]["facets"]["ovhAi_llmUsage"]["outputTokens"] == 0


def test_hook_level_lineage_inside_a_task(lineage_run):
    """``@task`` calling the hooks: the collected assets become the task's datasets, with our facets."""
    sink, _, _ = lineage_run
    complete = _task_events(sink, "ovhai_lineage_pipeline", "prepare")["COMPLETE"]
    inputs = {(d["namespace"], d["name"]): d for d in complete["inputs"]}
    origin = next(ns for ns, name in inputs if name == "Llama-3.1-8B-Instruct")
    assert set(inputs) == {(origin, "Llama-3.1-8B-Instruct"), ("s3://raw-data", "images")}
    assert _datasets(complete, "outputs") == {("s3://prepared", "v1")}
    model = inputs[(origin, "Llama-3.1-8B-Instruct")]["facets"]
    assert model["datasetType"]["datasetType"] == "MODEL" and model["ovhAi_model"]["task"] == "chat"
    volume = inputs[("s3://raw-data", "images")]["facets"]["ovhAi_volume"]
    assert (volume["alias"], volume["permission"], volume["mountPath"]) == ("S3GRA", "RO", "/in")


def test_marquez_view_of_the_pipeline(lineage_run):
    """What a user sees in Marquez: prepare -> s3://prepared/v1 -> train -> model, with our facets."""
    sink, _, _ = lineage_run
    assert NAMESPACE in sink.namespaces()
    train = sink.job(NAMESPACE, "ovhai_lineage_pipeline.train")
    assert train["latestRun"]["state"] == "COMPLETED"
    assert train["outputs"] == [{"namespace": "swift://gra", "name": "models/resnet"}]
    facets = sink.run_facets(train["latestRun"]["id"], "run")
    assert {"ovhAi_trainingJob", "externalQuery", "parent"} <= set(facets)
    model = sink.dataset("swift://gra", "models/resnet")
    assert model["sourceName"] == "GRA"
    assert {"datasetType", "dataSource", "ovhAi_volume", "ovhAi_model", "version"} <= set(model["facets"])
    graph = {n["id"] for n in sink.lineage("dataset:swift://gra:models/resnet", depth=5)["graph"]}
    assert {
        f"job:{NAMESPACE}:ovhai_lineage_pipeline.prepare",
        "dataset:s3://prepared:v1",
        f"job:{NAMESPACE}:ovhai_lineage_pipeline.train",
        "dataset:swift://gra:models/resnet",
        "dataset:s3://raw-data:images",
    } <= graph
