"""The Marquez-compatible sink: status codes, reads, lineage graph, fault injection, offline validation."""

from __future__ import annotations

import copy
import gzip
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from ovhcloud_ai_provider.lineage.operator_lineage import inference_lineage, training_lineage
from ovhcloud_ai_provider.testing.lineage_sink import MarquezSink, validate_event

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def _post(
    sink: MarquezSink, body, *, raw: bytes | None = None, headers: dict | None = None
) -> tuple[int, bytes]:
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{sink.url}/api/v1/lineage",
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _get(sink: MarquezSink, path: str, **params) -> tuple[int, dict]:
    url = f"{sink.url}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _event(**overrides) -> dict:
    event = {
        "eventType": "START",
        "eventTime": "2026-03-01T10:00:00.000000+00:00",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4()), "facets": {}},
        "job": {"namespace": "ovh_demo", "name": "dag.task", "facets": {}},
        "inputs": [],
        "outputs": [],
    }
    event.update(overrides)
    return event


# ---------------------------------------------------------------------------------------------- POST
def test_valid_event_gets_201_with_empty_body(sink):
    assert _post(sink, _event()) == (201, b"")
    assert len(sink.events()) == 1


def test_gzip_body_is_accepted(sink):
    raw = gzip.compress(json.dumps(_event()).encode())
    assert _post(sink, None, raw=raw, headers={"Content-Encoding": "gzip"})[0] == 201


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e["job"].update(namespace="bad namespace"),
        lambda e: e["job"].update(namespace="https://host/path?x=1"),
        lambda e: e["job"].update(namespace="x" * 1025),
        lambda e: e.update(inputs=[{"namespace": "s3://bucket%20x", "name": "k"}]),
        lambda e: e.update(outputs=[{"namespace": "a b", "name": "k"}]),
        lambda e: e.update(eventTime="2021-11-03"),
        lambda e: e.update(eventTime="yesterday"),
        lambda e: e.update(eventType="BOGUS"),
    ],
    ids=[
        "space",
        "query",
        "too-long",
        "input-percent",
        "output-space",
        "date-only",
        "garbage-time",
        "event-type",
    ],
)
def test_400(sink, mutate):
    event = _event()
    mutate(event)
    status, body = _post(sink, event)
    assert status == 400
    assert json.loads(body)["code"] == 400
    assert sink.events() == [] and sink.rejected()[-1]["status"] == 400


def test_400_for_non_json_and_non_object(sink):
    assert _post(sink, None, raw=b"{not json")[0] == 400
    assert _post(sink, [1, 2])[0] == 400


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("eventTime"), "eventTime"),
        (lambda e: e.pop("producer"), "producer"),
        (lambda e: e["run"].pop("runId"), "run.runId"),
        (lambda e: e["run"].update(runId="not-a-uuid"), "UUID"),
        (lambda e: e["job"].pop("namespace"), "job.namespace"),
        (lambda e: e["job"].pop("name"), "job.name"),
        (lambda e: e.update(inputs=[{"namespace": "s3://b"}]), "inputs[0].name"),
        (lambda e: e.update(outputs=[{"namespace": "s3://b", "name": "  "}]), "outputs[0].name"),
        (lambda e: e.update(outputs=[{"name": "k"}]), "outputs[0].namespace"),
        (lambda e: e["run"]["facets"].update(parent={"_producer": PRODUCER, "_schemaURL": "x",
                                                     "job": {"namespace": "n", "name": "d"}, "run": {}}),
         "parent.run.runId"),
    ],
    ids=["eventTime", "producer", "runId", "runId-uuid", "job-ns", "job-name", "input-name", "blank-name",
         "output-ns", "parent"],
)  # fmt: skip
def test_422(sink, mutate, message):
    event = _event()
    mutate(event)
    status, body = _post(sink, event)
    assert status == 422
    assert message in json.loads(body)["message"]
    assert sink.events() == []


def test_422_wins_over_400_like_marquez_bean_validation(sink):
    event = _event()
    event["job"]["namespace"] = "bad namespace"
    event.pop("producer")
    assert _post(sink, event)[0] == 422


def test_dataset_and_job_events(sink):
    dataset_event = {
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "s3://b", "name": "k", "facets": {}},
    }
    assert _post(sink, dataset_event)[0] == 201
    assert _post(sink, {**dataset_event, "dataset": {"namespace": "s3://b"}})[0] == 422
    job_event = {
        "eventTime": "2026-03-01T10:00:00Z",
        "producer": PRODUCER,
        "job": {"namespace": "static", "name": "j"},
        "inputs": [{"namespace": "s3://b", "name": "k"}],
        "outputs": [],
    }
    assert _post(sink, job_event)[0] == 201
    assert sink.job("static", "j")["inputs"] == [{"namespace": "s3://b", "name": "k"}]


def test_fail_with_and_stop(sink):
    sink.fail_with(503)
    assert _post(sink, _event())[0] == 503
    sink.fail_with(None)
    assert _post(sink, _event())[0] == 201
    sink.stop()
    assert not sink.running
    with pytest.raises(urllib.error.URLError):
        _post(sink, _event())
    assert len(sink.events()) == 1  # data stays readable after stop


def test_post_without_http(sink):
    assert sink.post(_event()) == 201
    assert sink.post({"nope": 1}) == 422


# ---------------------------------------------------------------------------------------------- reads
def _train_and_chat_events() -> tuple[list[dict], str, str]:
    """prepare (RO data -> prepared RW) -> train (RO prepared -> RW model) -> chat (uses a served model)."""
    prep_run, train_run, chat_run = (str(uuid.uuid4()) for _ in range(3))
    data = {"namespace": "s3://raw", "name": "images"}
    prepared = {"namespace": "s3://prepared", "name": "v1"}
    model = {"namespace": "swift://gra", "name": "models/resnet"}
    train_ol = training_lineage(
        spec={"image": "i", "volumes": [
            {"volumeSource": {"dataStore": {"alias": "S3GRA", "container": "prepared", "prefix": "v1"}},
             "mountPath": "/in", "permission": "RO"},
            {"volumeSource": {"dataStore": {"alias": "GRA", "container": "models", "prefix": "resnet"}},
             "mountPath": "/out", "permission": "RW"}]},
        job={"id": "job-1", "status": {"state": "DONE", "exitCode": 0}},
        model_output_mount="/out",
    )  # fmt: skip
    from openlineage.client.serde import Serde

    train_facets = {k: Serde.to_dict(v) for k, v in train_ol.run_facets.items()}
    chat_ol = inference_lineage(
        endpoint_base_url="https://oai.endpoints.kepler.ai.cloud.ovh.net/v1",
        model="bge-m3",
        operation="embeddings",
        usage={"prompt_tokens": 3, "total_tokens": 3},
        request_count=1,
    )
    events = [
        _event(run={"runId": prep_run}, job={"namespace": "ovh", "name": "dag.prepare"}, inputs=[data]),
        _event(eventType="COMPLETE", eventTime="2026-03-01T10:05:00+00:00", run={"runId": prep_run},
               job={"namespace": "ovh", "name": "dag.prepare"}, inputs=[data], outputs=[prepared]),
        _event(eventTime="2026-03-01T10:06:00+00:00", run={"runId": train_run},
               job={"namespace": "ovh", "name": "dag.train", "facets": {"jobType": {
                   "_producer": PRODUCER, "_schemaURL": "x", "processingType": "BATCH",
                   "integration": "AIRFLOW", "jobType": "TASK"}}},
               inputs=[Serde.to_dict(d) for d in train_ol.inputs]),
        _event(eventType="COMPLETE", eventTime="2026-03-01T11:06:00+00:00",
               run={"runId": train_run, "facets": train_facets},
               job={"namespace": "ovh", "name": "dag.train"},
               inputs=[Serde.to_dict(d) for d in train_ol.inputs],
               outputs=[Serde.to_dict(d) for d in train_ol.outputs]),
        _event(eventType="FAIL", eventTime="2026-03-01T11:07:00+00:00", run={"runId": chat_run, "facets": {
            k: Serde.to_dict(v) for k, v in chat_ol.run_facets.items()}},
               job={"namespace": "ovh", "name": "dag.chat"},
               inputs=[Serde.to_dict(d) for d in chat_ol.inputs]),
    ]  # fmt: skip
    assert model == {"namespace": "swift://gra", "name": "models/resnet"}
    return events, train_run, chat_run


def test_reads_like_marquez(sink):
    events, train_run, chat_run = _train_and_chat_events()
    for event in events:
        assert _post(sink, event)[0] == 201

    status, body = _get(sink, "namespaces")
    assert status == 200
    names = {n["name"] for n in body["namespaces"]}
    assert {
        "ovh",
        "s3://raw",
        "s3://prepared",
        "swift://gra",
        "https://oai.endpoints.kepler.ai.cloud.ovh.net",
    } <= names

    status, jobs = _get(sink, "namespaces/ovh/jobs")
    assert status == 200 and jobs["totalCount"] == 3
    status, job = _get(sink, "namespaces/ovh/jobs/dag.train")
    assert status == 200
    assert job["inputs"] == [{"namespace": "s3://prepared", "name": "v1"}]
    assert job["outputs"] == [{"namespace": "swift://gra", "name": "models/resnet"}]
    assert job["latestRun"]["id"] == train_run and job["latestRun"]["state"] == "COMPLETED"
    assert job["latestRun"]["durationMs"] == 3_600_000
    assert job["facets"]["jobType"]["jobType"] == "TASK"
    assert _get(sink, "namespaces/ovh/jobs/dag.train/runs")[1]["runs"][0]["id"] == train_run

    status, dataset = _get(sink, f"namespaces/{_q('swift://gra')}/datasets/{_q('models/resnet')}")
    assert status == 200
    assert dataset["sourceName"] == "GRA" and dataset["type"] == "DB_TABLE"
    assert dataset["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert dataset["facets"]["ovhAi_model"]["trainedByJobId"] == "job-1"
    assert dataset["lastModifiedAt"] == "2026-03-01T11:06:00+00:00"
    # lenient: unencoded '/' in the dataset name also works
    assert _get(sink, f"namespaces/{_q('swift://gra')}/datasets/models/resnet")[0] == 200
    assert _get(sink, f"namespaces/{_q('swift://gra')}/datasets")[1]["totalCount"] == 1

    status, run = _get(sink, f"jobs/runs/{chat_run}")
    assert status == 200 and run["state"] == "FAILED"
    status, facets = _get(sink, f"jobs/runs/{train_run}/facets", type="run")
    assert facets["runId"] == train_run
    assert facets["facets"]["ovhAi_trainingJob"]["state"] == "DONE"
    assert facets["facets"]["externalQuery"]["externalQueryId"] == "job-1"
    job_facets = _get(sink, f"jobs/runs/{train_run}/facets", type="job")[1]["facets"]
    assert set(job_facets) == {"jobType"}
    assert _get(sink, f"jobs/runs/{train_run}/facets")[0] == 400
    chat_facets = sink.run_facets(chat_run)
    assert chat_facets["ovhAi_llmUsage"]["inputTokens"] == 3

    status, listed = _get(sink, "events/lineage", sortDirection="asc", limit=2)
    assert listed["totalCount"] == 5 and len(listed["events"]) == 2
    assert listed["events"][0]["eventTime"] <= listed["events"][1]["eventTime"]
    assert _get(sink, "sources")[1]["sources"]

    assert _get(sink, "namespaces/nope/jobs")[0] == 404
    assert _get(sink, "namespaces/ovh/jobs/nope")[0] == 404
    assert _get(sink, f"jobs/runs/{uuid.uuid4()}")[0] == 404


def test_lineage_graph(sink):
    events, _, _ = _train_and_chat_events()
    for event in events:
        sink.post(event)

    status, body = _get(sink, "lineage", nodeId="job:ovh:dag.train", depth=1)
    assert status == 200
    nodes = {n["id"]: n for n in body["graph"]}
    assert set(nodes) == {
        "job:ovh:dag.train",
        "job:ovh:dag.prepare",  # one job hop upstream
        "dataset:s3://raw:images",
        "dataset:s3://prepared:v1",
        "dataset:swift://gra:models/resnet",
    }
    train = nodes["job:ovh:dag.train"]
    assert train["type"] == "JOB" and train["data"]["name"] == "dag.train"
    assert train["inEdges"] == [{"origin": "dataset:s3://prepared:v1", "destination": "job:ovh:dag.train"}]
    assert train["outEdges"] == [
        {"origin": "job:ovh:dag.train", "destination": "dataset:swift://gra:models/resnet"}
    ]
    prepared = nodes["dataset:s3://prepared:v1"]
    assert prepared["type"] == "DATASET"
    assert prepared["inEdges"] == [
        {"origin": "job:ovh:dag.prepare", "destination": "dataset:s3://prepared:v1"}
    ]
    assert prepared["outEdges"] == [
        {"origin": "dataset:s3://prepared:v1", "destination": "job:ovh:dag.train"}
    ]

    # depth 0: only the job and its own datasets
    shallow = {n["id"] for n in sink.lineage("job:ovh:dag.train", depth=0)["graph"]}
    assert "job:ovh:dag.prepare" not in shallow and "dataset:s3://prepared:v1" in shallow
    # from a dataset node: the jobs reading/writing it, then onwards
    from_data = {n["id"] for n in sink.lineage("dataset:s3://prepared:v1", depth=20)["graph"]}
    assert {"job:ovh:dag.prepare", "job:ovh:dag.train", "dataset:swift://gra:models/resnet"} <= from_data
    assert "job:ovh:dag.chat" not in from_data  # not connected
    model_node = sink.lineage("dataset:https://oai.endpoints.kepler.ai.cloud.ovh.net:bge-m3", 5)["graph"]
    assert {n["id"] for n in model_node} == {
        "job:ovh:dag.chat",
        "dataset:https://oai.endpoints.kepler.ai.cloud.ovh.net:bge-m3",
    }
    assert _get(sink, "lineage", nodeId="dataset:nope:x")[0] == 404
    assert _get(sink, "lineage")[0] == 400


def test_wait_for_and_reset(sink):
    assert not sink.wait_for(1, timeout=0.05)
    sink.post(_event())
    assert sink.wait_for(lambda events: events[0]["eventType"] == "START", timeout=1)
    sink.reset()
    assert sink.events() == [] and sink.namespaces() == []


def test_validating_sink_records_problems(spec_dir):
    with MarquezSink(port=0, validate=True, spec_dir=spec_dir) as sink:
        good = _event()
        bad = _event()
        bad["run"]["facets"]["mystery"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://example.com/x.json#/$defs/X",
        }
        assert sink.post(good) == 201 and sink.post(bad) == 201  # Marquez stores unknown facets verbatim
        [(index, problems)] = sink.validation_errors()
        assert index == 1 and "unknown _schemaURL" in problems[0]


# ---------------------------------------------------------------------------------------------- validation
def test_validate_event_reports_spec_violations(spec_dir):
    assert validate_event(_event(), spec_dir=spec_dir) == []
    event = _event(eventType="BOGUS")
    event["run"]["runId"] = "not-a-uuid"
    event["eventTime"] = "yesterday"
    event["run"]["facets"]["parent"] = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
        "job": {"namespace": "n", "name": "d"},
        "run": {},
    }
    problems = "\n".join(validate_event(event, spec_dir=spec_dir, marquez=False))
    assert "'BOGUS' is not one of" in problems
    assert "'not-a-uuid' is not a 'uuid'" in problems
    assert "'yesterday' is not a 'date-time'" in problems
    assert "'runId' is a required property" in problems


def test_validate_event_facet_schema_rules(spec_dir):
    event = _event()
    event["run"]["facets"]["unknownSourceAttribute"] = {
        "_producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.20.3",
        "_schemaURL": "https://raw.githubusercontent.com/apache/airflow/providers-openlineage/2.20.3/x.json#/$defs/U",
    }  # Airflow provider facets: schema not in the spec copy, tolerated
    assert validate_event(event, spec_dir=spec_dir) == []
    impostor = copy.deepcopy(event)
    impostor["run"]["facets"]["unknownSourceAttribute"]["_producer"] = PRODUCER
    assert any("unknown _schemaURL" in p for p in validate_event(impostor, spec_dir=spec_dir))
    missing = _event()
    missing["job"]["facets"]["jobType"] = {
        "_producer": PRODUCER,
        "_schemaURL": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
        "processingType": "BATCH",
    }
    assert any(
        "'integration' is a required property" in p for p in validate_event(missing, spec_dir=spec_dir)
    )
    marquez = _event()
    marquez["job"]["namespace"] = "has space"
    assert any(p.startswith("marquez 400") for p in validate_event(marquez, spec_dir=spec_dir))


def test_example_openlineage_yml_delivers_to_a_marquez_api(sink):
    """The documented ``lineage/openlineage.yml`` works as is (only the URL is changed to the sink's)."""
    from pathlib import Path

    import yaml
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

    example = Path(__file__).resolve().parents[2] / "lineage" / "openlineage.yml"
    config = yaml.safe_load(example.read_text())
    assert config["transport"]["type"] == "http" and config["transport"]["endpoint"] == "api/v1/lineage"
    config["transport"]["url"] = sink.url
    client = OpenLineageClient(config=config)
    client.emit(
        RunEvent(
            eventType=RunState.START,
            eventTime="2026-03-01T10:00:00+00:00",
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="ovh_ai", name="dag.task"),
            producer=PRODUCER,
        )
    )
    assert sink.wait_for(1, timeout=10)
    assert sink.request_headers()[-1].get("Content-Encoding") == "gzip"
    assert sink.job("ovh_ai", "dag.task")["latestRun"]["state"] == "RUNNING"
