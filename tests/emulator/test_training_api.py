"""AI Training API routes over real HTTP: auth, JobSpec validation, job object shape, list, kill/delete/start."""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from ovhcloud_ai_provider.testing.emulator import OVHEmulator

from .conftest import Api, states

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


# -- auth --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", [None, "nope", "endpoints-token"])
def test_missing_or_unknown_token_is_401_message(emu: OVHEmulator, token: str | None) -> None:
    api = Api(emu.url, token)
    for method, path in [("GET", "/v1/job"), ("POST", "/v1/job"), ("GET", f"/v1/job/{uuid.uuid4()}")]:
        response = api.request(method, path, json={"image": "ubuntu"})
        assert response.status_code == 401
        assert set(response.json()) == {"message"}


def test_malformed_authorization_header_is_401(emu: OVHEmulator) -> None:
    response = requests.get(emu.url + "/v1/job", headers={"Authorization": "Basic training-token"}, timeout=5)
    assert response.status_code == 401


# -- create ------------------------------------------------------------------------------------------------
def test_create_minimal_job_returns_200_queued_job(training: Api) -> None:
    response = training.post("/v1/job", json={"image": "ubuntu:22.04"})
    assert response.status_code == 200
    job = response.json()
    assert set(job) == {"id", "createdAt", "updatedAt", "user", "spec", "status"}
    assert uuid.UUID(job["id"]).version == 4
    assert ISO.match(job["createdAt"]) and ISO.match(job["updatedAt"])
    assert job["user"].startswith("user-")
    status = job["status"]
    assert status["state"] == "QUEUED"
    assert status["info"] == {"code": "JOB_QUEUED", "message": "Job is queued"}
    assert states(job) == ["QUEUED"]
    assert status["exitCode"] is None and status["duration"] == 0
    assert ISO.match(status["queuedAt"]) and status["startedAt"] is None and status["finalizedAt"] is None
    jid, r = job["id"], "gra"
    assert status["url"] == f"https://{jid}.job.{r}.ai.cloud.ovh.net"
    assert status["sshUrl"] == f"ssh://{jid}@{r}.ai.cloud.ovh.net"
    assert status["infoUrl"] == f"https://ui.{r}.ai.cloud.ovh.net/job/{jid}"
    assert status["grpcAddress"] == f"{jid}.job-grpc.{r}.ai.cloud.ovh.net:443"
    assert status["monitoringUrl"].startswith(
        f"https://monitoring.{r}.ai.cloud.ovh.net/d/job?var-job={jid}&from="
    )
    for key in ("initializingAt", "stoppedAt", "lastTransitionDate", "volumes", "dataSync", "timeoutAt"):
        assert key in status


def test_create_defaults_and_generated_name(training: Api) -> None:
    spec = training.create_job(image="registry.example.com/team/ubuntu:22.04")["spec"]
    assert re.match(r"^[a-z]+-ubuntu$", spec["name"])
    assert spec["labels"] == {"ovh/id": spec["labels"]["ovh/id"], "ovh/type": "job"}
    assert spec["defaultHttpPort"] == 8080 and spec["unsecureHttp"] is False
    assert spec["timeout"] == 0 and spec["timeoutAutoRestart"] is False
    assert spec["envVars"] == [] and spec["volumes"] == [] and spec["sshPublicKeys"] == []
    assert spec["shutdown"] is None and spec["deletionRequested"] is False
    res = spec["resources"]
    assert (res["flavor"], res["gpu"], res["cpu"], res["gpuModel"], res["gpuBrand"]) == (
        "ai1-1-gpu",
        1,
        13,
        "Tesla-V100S",
        "NVIDIA",
    )
    assert res["memory"] == 40 * 1024**3 and res["gpuMemory"] == 32 * 1024**3


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"gpu": 2}, ("ai1-1-gpu", 2, 26, "Tesla-V100S")),
        ({"cpu": 4}, ("ai1-1-cpu", 0, 4, None)),
        ({"flavor": "h100-1-gpu", "gpu": 1}, ("h100-1-gpu", 1, 28, "H100")),
        ({"flavor": "l4-1-gpu"}, ("l4-1-gpu", 1, 20, "L4")),
        (
            {"flavor": "l40s-1-gpu", "gpu": 4, "cpu": 3},
            ("l40s-1-gpu", 4, 52, "L40s"),
        ),  # cpu ignored with GPUs
        ({"flavor": "a100-1-gpu", "gpu": 2}, ("a100-1-gpu", 2, 26, "Ampere-A100")),
        ({"flavor": "ai1-1-cpu", "cpu": 12}, ("ai1-1-cpu", 0, 12, None)),
    ],
)
def test_resources_are_resolved_from_the_flavor_table(
    training: Api, resources: dict, expected: tuple
) -> None:
    res = training.create_job(resources=resources)["spec"]["resources"]
    assert (res["flavor"], res["gpu"], res["cpu"], res["gpuModel"]) == expected
    assert res["gpuBrand"] == ("NVIDIA" if expected[1] else None)


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"image": ""},
        {"image": 3},
        {"image": "ubuntu", "resources": {"flavor": "nope-1-gpu"}},
        {"image": "ubuntu", "resources": {"gpu": 5}},
        {"image": "ubuntu", "resources": {"flavor": "a100-1-gpu", "gpu": 3}},
        {"image": "ubuntu", "resources": {"cpu": 13}},
        {"image": "ubuntu", "resources": {"flavor": "ai1-1-cpu", "gpu": 1}},
        {"image": "ubuntu", "resources": {"flavor": "l4-1-gpu", "gpu": 0}},
        {"image": "ubuntu", "resources": {"gpu": "1"}},
        {"image": "ubuntu", "shutdown": "Normal"},
        {"image": "ubuntu", "shutdown": "Fast"},
        {"image": "ubuntu", "envVars": [{"name": "A", "value": 3}]},
        {"image": "ubuntu", "envVars": {"A": "b"}},
        {"image": "ubuntu", "command": "python train.py"},
        {"image": "ubuntu", "labels": {"bad key": "x"}},
        {"image": "ubuntu", "labels": {"k": "x" * 64}},
        {"image": "ubuntu", "labels": {"k" * 64: "x"}},
        {"image": "ubuntu", "labels": {"k": "a/b"}},
        {"image": "ubuntu", "labels": {"k": 1}},
        {"image": "ubuntu", "labels": {"emulator-scenario": "explode"}},
        {"image": "ubuntu", "labels": {"emulator-run-seconds": "soon"}},
        {"image": "ubuntu", "env_vars": []},
        {"image": "ubuntu", "timeout": -1},
        {
            "image": "ubuntu",
            "volumes": [
                {"mountPath": "data", "permission": "RO", "dataStore": {"alias": "GRA", "container": "c"}}
            ],
        },
        {
            "image": "ubuntu",
            "volumes": [
                {"mountPath": "/d", "permission": "ro", "dataStore": {"alias": "GRA", "container": "c"}}
            ],
        },
        {
            "image": "ubuntu",
            "volumes": [
                {"mountPath": "/d", "permission": "RX", "dataStore": {"alias": "GRA", "container": "c"}}
            ],
        },
        {"image": "ubuntu", "volumes": [{"mountPath": "/d", "permission": "RO"}]},
        {
            "image": "ubuntu",
            "volumes": [{"mountPath": "/d", "permission": "RO", "dataStore": {"container": "c"}}],
        },
        {"image": "ubuntu", "volumes": [{"mountPath": "/d", "permission": "RO", "volumeSource": {}}]},
        {
            "image": "ubuntu",
            "volumes": [
                {
                    "mountPath": "/d",
                    "permission": "RO",
                    "dataStore": {"alias": "GRA", "container": "c"},
                    "volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}},
                }
            ],
        },
        {
            "image": "ubuntu",
            "volumes": [
                {"mountPath": "/d", "permission": "RO", "publicGit": {"url": "https://g/x.git"}},
                {"mountPath": "/d", "permission": "RO", "publicGit": {"url": "https://g/y.git"}},
            ],
        },
    ],
)
def test_invalid_specs_are_400_with_message(training: Api, spec: dict) -> None:
    response = training.post("/v1/job", json=spec)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"message"} and response.json()["message"]


def test_non_json_and_empty_bodies_are_400(training: Api) -> None:
    assert (
        training.post("/v1/job", data=b"{not json", headers={"Content-Type": "application/json"}).status_code
        == 400
    )
    assert training.post("/v1/job").status_code == 400
    assert training.post("/v1/job", json=["ubuntu"]).status_code == 400


def test_full_spec_is_echoed(training: Api) -> None:
    spec = {
        "image": "pytorch/pytorch:latest",
        "name": "resnet",
        "command": ["python", "train.py", "--epochs", "3"],
        "envVars": [{"name": "EPOCHS", "value": "3"}],
        "resources": {"flavor": "l4-1-gpu", "gpu": 1},
        "labels": {"team": "vision", "ovh/id": "spoofed", "ovh/type": "notebook", "ovh/other": "x"},
        "sshPublicKeys": ["ssh-ed25519 AAAA"],
        "defaultHttpPort": 8888,
        "grpcPort": 9000,
        "unsecureHttp": True,
        "timeout": 3600,
        "timeoutAutoRestart": False,
        "shutdown": "Stop",
        "readUser": "reader",
        "partnerId": "partner",
    }
    job = training.create_job(**spec)
    got = job["spec"]
    for key in ("name", "image", "command", "envVars", "sshPublicKeys", "defaultHttpPort", "grpcPort"):
        assert got[key] == spec[key]
    assert (got["unsecureHttp"], got["timeout"], got["shutdown"], got["readUser"]) == (
        True,
        3600,
        "Stop",
        "reader",
    )
    # Platform-owned labels are overwritten; user ovh/ keys dropped.
    assert got["labels"] == {"team": "vision", "ovh/id": job["id"], "ovh/type": "job"}


def test_volumes_legacy_and_new_shapes_are_echoed_as_received(training: Api) -> None:
    legacy = {
        "mountPath": "/workspace/in",
        "permission": "RO",
        "dataStore": {"alias": "GRA", "container": "in"},
    }
    new = {
        "mountPath": "/workspace/out",
        "permission": "RWD",
        "cache": True,
        "volumeSource": {"dataStore": {"alias": "S3GRA", "container": "out", "prefix": "runs/"}},
    }
    git = {
        "mountPath": "/workspace/code",
        "permission": "RO",
        "publicGit": {"url": "https://github.com/o/r.git"},
    }
    swift = {
        "mountPath": "/workspace/pub",
        "permission": "RO",
        "volumeSource": {"publicSwift": {"url": "https://s/x"}},
    }
    scratch = {"mountPath": "/workspace/tmp", "permission": "RW", "standalone": {"name": "scratch"}}
    job = training.create_job(volumes=[legacy, new, git, swift, scratch])
    echoed = job["spec"]["volumes"]
    assert echoed[0] == {**legacy, "cache": False}
    assert echoed[1] == new
    assert echoed[2] == {**git, "cache": False}
    assert echoed[3] == {**swift, "cache": False}
    assert echoed[4] == {**scratch, "cache": False}
    vols = job["status"]["volumes"]
    assert [v["mountPath"] for v in vols] == [v["mountPath"] for v in echoed]
    assert all(uuid.UUID(v["id"]) and uuid.UUID(v["userVolumeId"]) for v in vols)


def test_data_sync_pull_and_push(emu: OVHEmulator, training: Api) -> None:
    vol = {
        "mountPath": "/out",
        "permission": "RW",
        "volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}},
    }
    job = training.create_job(volumes=[vol])
    emu.advance(60)
    status = training.job(job["id"])["status"]
    syncs = status["dataSync"]
    assert [(s["spec"]["direction"], s["status"]["state"]) for s in syncs] == [
        ("pull", "DONE"),
        ("push", "DONE"),
    ]
    assert syncs[0]["status"]["progress"][0]["info"] == "c@GRA"
    assert "lastPulledCreatedAt" in status["volumes"][0] and "lastPushedCreatedAt" in status["volumes"][0]


def test_unknown_fields_are_accepted_when_not_strict(emu: OVHEmulator, training: Api) -> None:
    assert training.post("/v1/job", json={"image": "ubuntu", "region": "GRA"}).status_code == 400
    emu.configure(strict_job_spec=False)
    assert training.post("/v1/job", json={"image": "ubuntu", "region": "GRA"}).status_code == 200


# -- get ---------------------------------------------------------------------------------------------------
def test_get_unknown_job_is_404_message(training: Api) -> None:
    response = training.get(f"/v1/job/{uuid.uuid4()}")
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("PUT", "/kill"), ("PUT", "/start"), ("DELETE", ""), ("GET", "/log"), ("PUT", "/label")],
)
def test_operations_on_unknown_job_are_404(training: Api, method: str, suffix: str) -> None:
    response = training.request(method, f"/v1/job/{uuid.uuid4()}{suffix}", json={"name": "a", "value": "b"})
    assert response.status_code == 404 and "message" in response.json()


def test_unknown_training_path_is_404_message_and_wrong_method_405(training: Api) -> None:
    response = training.get(f"/v1/job/{uuid.uuid4()}/logs")
    assert response.status_code == 404
    assert "message" in response.json()
    response = training.request("PATCH", "/v1/job")
    assert response.status_code == 405 and "message" in response.json()


# -- list --------------------------------------------------------------------------------------------------
def test_list_shape_filters_and_pagination(emu: OVHEmulator, training: Api) -> None:
    a = training.create_job(labels={"team": "a", "env": "prod"})
    b = training.create_job(labels={"team": "b", "env": "prod"})
    c = training.create_job(labels={"team": "a", "env": "dev", "emulator-scenario": "long_queue"})
    emu.advance(30)

    body = training.get("/v1/job").json()
    assert set(body) == {"items", "metadata"}
    assert body["metadata"] == {"currentPage": 1, "pageCount": 1, "total": 3, "links": {"next": None}}
    # Default order: newest first.
    assert [j["id"] for j in body["items"]] == [c["id"], b["id"], a["id"]]
    asc = training.get("/v1/job", params={"order": "asc", "sort": "createdAt"}).json()
    assert [j["id"] for j in asc["items"]] == [a["id"], b["id"], c["id"]]

    only_a = training.get("/v1/job", params={"labelSelector": "team=a"}).json()
    assert {j["id"] for j in only_a["items"]} == {a["id"], c["id"]}
    a_prod = training.get("/v1/job", params={"labelSelector": "team=a,env=prod"}).json()
    assert [j["id"] for j in a_prod["items"]] == [a["id"]]
    not_a = training.get("/v1/job", params={"labelSelector": "team!=a"}).json()
    assert [j["id"] for j in not_a["items"]] == [b["id"]]

    queued = training.get("/v1/job", params={"statusState": "QUEUED"}).json()
    assert [j["id"] for j in queued["items"]] == [c["id"]]
    both = training.get("/v1/job", params=[("statusState", "QUEUED"), ("statusState", "DONE")]).json()
    assert both["metadata"]["total"] == 3
    done = training.get("/v1/job", params={"statusState": "DONE"}).json()
    assert {j["id"] for j in done["items"]} == {a["id"], b["id"]}

    by_state = training.get("/v1/job", params={"sort": "status.state", "order": "asc"}).json()
    assert [j["status"]["state"] for j in by_state["items"]] == ["DONE", "DONE", "QUEUED"]

    page1 = training.get("/v1/job", params={"page": 1, "size": 2, "order": "asc"}).json()
    assert page1["metadata"]["pageCount"] == 2 and page1["metadata"]["total"] == 3
    assert [j["id"] for j in page1["items"]] == [a["id"], b["id"]]
    next_url = page1["metadata"]["links"]["next"]
    assert next_url and "page=2" in next_url and "size=2" in next_url
    page2 = training.session.get(next_url, timeout=5).json()
    assert [j["id"] for j in page2["items"]] == [c["id"]]
    assert page2["metadata"]["currentPage"] == 2 and page2["metadata"]["links"]["next"] is None
    empty = training.get("/v1/job", params={"page": 5, "size": 2}).json()
    assert empty["items"] == [] and empty["metadata"]["total"] == 3


def test_list_updated_after_and_before(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0)  # long phases: updatedAt stays at creation for a while
    first = training.create_job()
    emu.advance(0.05)
    cut = emu.state.clock.now()
    emu.advance(0.05)
    second = training.create_job()
    after = training.get("/v1/job", params={"updatedAfter": cut}).json()
    assert [j["id"] for j in after["items"]] == [second["id"]]
    before = training.get("/v1/job", params={"updatedBefore": cut}).json()
    assert [j["id"] for j in before["items"]] == [first["id"]]
    assert training.get("/v1/job", params={"updatedAfter": int(cut) + 3600}).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"page": "x"},
        {"page": 0},
        {"size": 0},
        {"size": 5000},
        {"order": "up"},
        {"statusState": "STOPPED"},
        {"updatedAfter": "yesterday"},
    ],
)
def test_list_bad_query_is_400(training: Api, params: dict) -> None:
    response = training.get("/v1/job", params=params)
    assert response.status_code == 400 and "message" in response.json()


# -- kill / delete / start -----------------------------------------------------------------------------------
def test_kill_running_job(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(labels={"emulator-run-seconds": "600"})
    emu.advance(1)
    assert training.job(job["id"])["status"]["state"] == "RUNNING"
    response = training.put(f"/v1/job/{job['id']}/kill")
    assert response.status_code == 204 and response.content == b""
    assert training.job(job["id"])["status"]["state"] == "INTERRUPTING"
    emu.advance(1)
    final = training.job(job["id"])
    assert states(final) == [
        "QUEUED",
        "INITIALIZING",
        "PENDING",
        "RUNNING",
        "INTERRUPTING",
        "FINALIZING",
        "INTERRUPTED",
    ]
    assert final["status"]["exitCode"] is None
    assert final["status"]["info"]["code"] == "JOB_INTERRUPTED"
    # Undocumented: killing a terminal job is a 400 with a message.
    again = training.put(f"/v1/job/{job['id']}/kill")
    assert again.status_code == 400 and "message" in again.json()
    assert emu.accounting()["jobs"]["killed"] == 1


def test_kill_queued_job_and_kill_while_stopping_is_noop(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(labels={"emulator-scenario": "long_queue"})
    assert training.put(f"/v1/job/{job['id']}/kill").status_code == 204
    assert training.put(f"/v1/job/{job['id']}/kill").status_code == 204  # already INTERRUPTING
    emu.advance(5)
    assert states(training.job(job["id"])) == ["QUEUED", "INTERRUPTING", "FINALIZING", "INTERRUPTED"]
    assert emu.accounting()["jobs"]["killed"] == 1


def test_delete_semantics(emu: OVHEmulator, training: Api) -> None:
    running = training.create_job(labels={"emulator-run-seconds": "600"})
    refused = training.delete(f"/v1/job/{running['id']}")
    assert refused.status_code == 400 and "message" in refused.json()
    assert training.delete(f"/v1/job/{running['id']}", params={"force": "false"}).status_code == 400
    assert training.delete(f"/v1/job/{running['id']}", params={"force": "true"}).status_code == 204
    assert training.get(f"/v1/job/{running['id']}").status_code == 404

    done = training.create_job()
    emu.advance(60)
    assert training.delete(f"/v1/job/{done['id']}").status_code == 204
    assert training.delete(f"/v1/job/{done['id']}").status_code == 404
    jobs = emu.accounting()["jobs"]
    assert jobs["deleted"] == 2 and jobs["by_state"] == {} and jobs["by_final_state"] == {"DONE": 1}


def test_start_restarts_done_or_interrupted_jobs_only(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job()
    refused = training.put(f"/v1/job/{job['id']}/start")
    assert refused.status_code == 400 and "message" in refused.json()
    emu.advance(60)
    assert training.job(job["id"])["status"]["state"] == "DONE"
    assert training.put(f"/v1/job/{job['id']}/start").status_code == 204
    restarted = training.job(job["id"])
    assert restarted["status"]["state"] == "QUEUED"
    assert restarted["status"]["exitCode"] is None and restarted["status"]["finalizedAt"] is None
    emu.advance(60)
    final = training.job(job["id"])
    assert states(final).count("DONE") == 2 and final["status"]["state"] == "DONE"
    assert emu.accounting()["jobs"]["by_final_state"] == {"DONE": 2}

    failed = training.create_job(labels={"emulator-scenario": "fail"})
    emu.advance(60)
    assert training.put(f"/v1/job/{failed['id']}/start").status_code == 400

    killed = training.create_job(labels={"emulator-scenario": "long_queue"})
    training.put(f"/v1/job/{killed['id']}/kill")
    emu.advance(1)
    assert training.put(f"/v1/job/{killed['id']}/start").status_code == 204


def test_label_and_timeout_updates(training: Api) -> None:
    job = training.create_job(labels={"a": "1"})
    assert training.put(f"/v1/job/{job['id']}/label", json={"name": "b", "value": "2"}).status_code == 204
    assert training.put(f"/v1/job/{job['id']}/label", json={"name": "a"}).status_code == 204
    labels = training.job(job["id"])["spec"]["labels"]
    assert labels == {"b": "2", "ovh/id": job["id"], "ovh/type": "job"}
    assert (
        training.put(f"/v1/job/{job['id']}/label", json={"name": "ovh/id", "value": "x"}).status_code == 400
    )
    assert training.put(f"/v1/job/{job['id']}/label", json={"name": "b", "value": "a b"}).status_code == 400
    assert training.put(f"/v1/job/{job['id']}", json={"timeout": 60}).status_code == 204
    assert training.job(job["id"])["spec"]["timeout"] == 60
    assert training.put(f"/v1/job/{job['id']}", json={"timeout": "1h"}).status_code == 400


# -- misc routes --------------------------------------------------------------------------------------------
def test_me_and_flavors(training: Api) -> None:
    me = training.get("/v1/me").json()
    assert me["role"] == "ai_training_operator" and me["name"].startswith("user-")
    flavors = training.get("/v1/capabilities/flavor").json()
    ids = {f["id"] for f in flavors}
    assert {"ai1-1-cpu", "ai1-1-gpu", "h100-1-gpu", "l40s-1-gpu", "l4-1-gpu", "a100-1-gpu"} <= ids
    h100 = training.get("/v1/capabilities/flavor/h100-1-gpu").json()
    assert h100["gpuInformation"]["gpuModel"] == "H100" and h100["resourcesPerUnit"]["cpu"] == 28
    assert training.get("/v1/capabilities/flavor/nope").status_code == 404


def test_region_is_used_in_urls() -> None:
    with OVHEmulator(port=0, region="bhs") as emu:
        job = Api(emu.url, "training-token").create_job()
        assert job["status"]["infoUrl"].startswith("https://ui.bhs.ai.cloud.ovh.net/job/")


def test_real_time_progression_without_advance(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(labels={"emulator-run-seconds": "1"})  # 0.05 s of RUNNING at time_scale 0.05
    deadline = time.monotonic() + 5
    while training.job(job["id"])["status"]["state"] != "DONE":
        assert time.monotonic() < deadline, "job did not finish in real time"
        time.sleep(0.02)
