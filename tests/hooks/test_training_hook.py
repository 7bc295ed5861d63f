"""OVHCloudAITrainingHook against the emulator: every seed method on the real wire format, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ovhcloud_ai_provider.exceptions import (
    OVHCloudAIConfigurationError,
    OVHCloudAITrainingJobFailedError,
    OVHCloudAITrainingJobTimeoutError,
    OVHCloudAIValidationError,
)
from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook, filter_log_since

IMAGE = "ovhcom/ai-training-pytorch:2.4.0"


def submit(training: OVHCloudAITrainingHook, scenario: str = "success", **kwargs):
    labels = {"emulator-scenario": scenario, **kwargs.pop("labels", {})}
    return training.submit_job(image=IMAGE, labels=labels, **kwargs)


def test_seed_constants_and_defaults():
    assert OVHCloudAITrainingHook.REGIONS == {
        "gra": "https://gra.ai.cloud.ovh.net",
        "bhs": "https://bhs.ai.cloud.ovh.net",
    }
    hook = OVHCloudAITrainingHook()
    assert (hook.ovh_conn_id, hook.region, hook.timeout) == ("ovh_ai_training_default", None, 120)


def test_submit_sends_only_what_was_asked(emu, training):
    job = training.submit_job(image=IMAGE)
    assert job["status"]["state"] == "QUEUED"
    sent = emu.request_log()[-1]["body"] if hasattr(emu, "request_log") else None
    if sent is not None:
        assert "resources" not in sent and "unsecureHttp" not in sent
    job = training.submit_job(
        image=IMAGE,
        name="resnet",
        command=["python", "train.py"],
        env_vars=[{"name": "EPOCHS", "value": "3"}],
        flavor="l4-1-gpu",
        gpu=1,
        volumes=[OVHCloudAITrainingHook.build_volume("data", "/workspace/data")],
        labels={"team": "vision"},
        default_http_port=8080,
        timeout=3600,
        timeout_auto_restart=False,
        unsecure_http=True,
        shutdown="Stop",
    )
    spec = job["spec"]
    assert spec["name"] == "resnet" and spec["command"] == ["python", "train.py"]
    assert spec["resources"]["gpu"] == 1 and spec["resources"]["flavor"] == "l4-1-gpu"
    assert spec["volumes"][0]["volumeSource"]["dataStore"] == {"alias": "GRA", "container": "data"}
    assert spec["labels"]["team"] == "vision" and spec["unsecureHttp"] is True
    assert spec["timeout"] == 3600 and spec["shutdown"] == "Stop" and spec["defaultHttpPort"] == 8080
    assert emu.accounting()["jobs"]["created"] == 2


def test_get_job_status_and_wait_to_done(emu, training):
    job = submit(training)
    assert training.get_job(job["id"])["id"] == job["id"]
    assert training.get_job_status(job["id"]) in {"QUEUED", "INITIALIZING", "PENDING", "RUNNING"}
    seen: list[str] = []
    final = training.wait_for_job(job["id"], check_interval=0, timeout=60, on_poll=lambda j: seen.append(j["status"]["state"]))
    assert final["status"]["state"] == "DONE"
    assert seen[-1] == "DONE" and "RUNNING" in seen


@pytest.mark.parametrize(
    ("scenario", "state"), [("fail", "FAILED"), ("error", "ERROR"), ("sync_failed", "SYNC_FAILED"), ("interrupted", "INTERRUPTED")]
)
def test_wait_raises_on_each_failure_state(emu, training, scenario, state):
    job = submit(training, scenario)
    with pytest.raises(OVHCloudAITrainingJobFailedError) as caught:
        training.wait_for_job(job["id"], check_interval=0, timeout=60)
    assert str(caught.value).startswith(f"AI Training job {job['id']} entered failure state: {state}")
    assert caught.value.state == state


def test_failed_job_error_names_exit_code_and_info(emu, training):
    job = submit(training, "fail")
    with pytest.raises(OVHCloudAITrainingJobFailedError) as caught:
        training.wait_for_job(job["id"], check_interval=0, timeout=60)
    assert "exit code 1" in str(caught.value)


def test_interrupted_can_be_a_target(emu, training):
    job = submit(training, "interrupted")
    final = training.wait_for_job(job["id"], target_states=["DONE", "INTERRUPTED"], check_interval=0, timeout=60)
    assert final["status"]["state"] == "INTERRUPTED"


def test_timeout_state_is_not_terminal(emu, training):
    job = submit(training, "timeout")
    states: list[str] = []
    with pytest.raises(OVHCloudAITrainingJobFailedError):
        training.wait_for_job(job["id"], check_interval=0, timeout=60, on_poll=lambda j: states.append(j["status"]["state"]))
    assert states[-1] == "INTERRUPTED"


def test_wait_timeout_uses_the_seed_message(emu, training):
    job = submit(training, "long_queue")
    with pytest.raises(OVHCloudAITrainingJobTimeoutError, match=f"Timeout waiting for AI Training job {job['id']}"):
        training.wait_for_job(job["id"], check_interval=0, timeout=1)


def test_list_jobs_uses_real_filters(emu, training):
    a = submit(training, labels={"team": "a"})
    submit(training, labels={"team": "b"})
    only_a = training.list_jobs(labels={"team": "a"})
    assert [job["id"] for job in only_a["items"]] == [a["id"]]
    assert only_a["metadata"]["total"] == 1
    queued = training.list_jobs(state="QUEUED")
    assert all(job["status"]["state"] == "QUEUED" for job in queued["items"])
    page = training.list_jobs(page=2, size=1)
    assert page["metadata"]["currentPage"] == 2 and len(page["items"]) == 1
    request = next(r for r in emu.request_log() if r["route"] == "GET /v1/job") if hasattr(emu, "request_log") else None
    if request is not None and "query" in request:
        assert "labelSelector" in request["query"]


def test_stop_and_delete(emu, training):
    job = submit(training, "long_queue")
    assert training.stop_job(job["id"]) in ({}, training.get_job(job["id"]))
    final = training.wait_for_job(job["id"], target_states=["INTERRUPTED"], check_interval=0, timeout=60)
    assert final["status"]["state"] == "INTERRUPTED"
    assert training.delete_job(job["id"]) == {}
    assert emu.accounting()["jobs"]["killed"] == 1 and emu.accounting()["jobs"]["deleted"] == 1


def test_logs_are_text_with_tail_and_since(emu, training):
    job = submit(training)
    training.wait_for_job(job["id"], check_interval=0, timeout=60)
    text = training.get_job_logs(job["id"])
    lines = text.splitlines()
    assert any("[ovh] Job status is now RUNNING" in line for line in lines)
    assert training.get_job_logs(job["id"], tail=2).splitlines() == lines[-2:]
    future = datetime.now(timezone.utc) + timedelta(days=1)
    assert training.get_job_logs(job["id"], since=future.isoformat()) == ""
    assert training.get_job_logs(job["id"], since="2000-01-01T00:00:00Z").splitlines() == lines


def test_filter_log_since_keeps_continuation_lines():
    text = "2026-01-01T00:00:00Z a\n2026-01-01T00:00:05Z b\n  continued\n2026-01-01T00:00:09Z c\n"
    since = datetime(2026, 1, 1, 0, 0, 5, tzinfo=timezone.utc)
    assert filter_log_since(text, since) == "2026-01-01T00:00:05Z b\n  continued\n2026-01-01T00:00:09Z c\n"


def test_test_connection(emu, training, monkeypatch):
    ok, message = training.test_connection()
    assert ok and "successful" in message
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps({"conn_type": "ovhcloud_ai_training", "host": emu.url, "login": "gra", "password": "bad"}),
    )
    ok, message = OVHCloudAITrainingHook().test_connection()
    assert not ok and "401" in message


def test_unknown_region_is_refused_before_any_call(emu):
    with pytest.raises(OVHCloudAIConfigurationError, match=r"Invalid region 'mars'. Valid regions are: \['gra', 'bhs'\]"):
        OVHCloudAITrainingHook(region="mars")
    assert emu.accounting()["requests"]["total"] == 0


def test_unknown_region_in_connection_fails_test_connection(emu, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps({"conn_type": "ovhcloud_ai_training", "login": "xyz", "password": "training-token"}),
    )
    ok, message = OVHCloudAITrainingHook().test_connection()
    assert not ok and "Invalid region 'xyz'" in message


def test_region_picks_the_documented_url(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps({"conn_type": "generic", "login": "bhs", "password": "t0ken-value"}),
    )
    assert OVHCloudAITrainingHook().base_url == "https://bhs.ai.cloud.ovh.net"
    assert OVHCloudAITrainingHook(region="gra").base_url == "https://gra.ai.cloud.ovh.net"


def test_missing_token_uses_the_seed_message(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT", json.dumps({"conn_type": "generic", "login": "gra"}))
    with pytest.raises(OVHCloudAIConfigurationError, match="OVHcloud AI Training token not found in connection 'ovh_ai_training_default'"):
        OVHCloudAITrainingHook().list_jobs()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"image": ""}, "'image' is required"),
        ({"image": IMAGE, "shutdown": "Normal"}, "only accepts \\['Stop'\\]"),
        ({"image": IMAGE, "shutdown": "Fast"}, "only accepts"),
        ({"image": IMAGE, "volumes": [{"volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}}, "mountPath": "/d", "permission": "READ"}]}, "invalid permission 'READ'"),
        ({"image": IMAGE, "volumes": [{"volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}}, "mountPath": "data", "permission": "RO"}]}, "must start with '/'"),
        ({"image": IMAGE, "gpu": 1, "cpu": 4}, "GPUs or CPUs, not both"),
        ({"image": IMAGE, "gpu": 9}, "between 0 and 4"),
        ({"image": IMAGE, "labels": {"ovh/id": "x"}}, "belong to the platform"),
        ({"image": IMAGE, "labels": {"bad key!": "x"}}, "invalid"),
        ({"image": IMAGE, "env_vars": [{"value": "x"}]}, "needs a 'name'"),
        ({"image": IMAGE, "command": "python train.py"}, "list of strings"),
    ],
)
def test_bad_job_input_fails_before_the_paid_call(emu, training, kwargs, fragment):
    with pytest.raises(OVHCloudAIValidationError, match=fragment):
        training.submit_job(**kwargs)
    assert emu.accounting()["requests"]["total"] == 0


def test_build_volume_validates_and_defaults_alias():
    volume = OVHCloudAITrainingHook.build_volume("bucket", "/workspace/in", prefix="p/", permission="rw", cache=True)
    assert volume == {
        "volumeSource": {"dataStore": {"alias": "GRA", "container": "bucket", "prefix": "p/"}},
        "mountPath": "/workspace/in",
        "permission": "RW",
        "cache": True,
    }
    with pytest.raises(OVHCloudAIValidationError):
        OVHCloudAITrainingHook.build_volume("bucket", "/x", permission="RX")


def test_build_env_vars():
    assert OVHCloudAITrainingHook.build_env_vars({"A": "1", "B": 2}) == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]


def test_bad_job_ids_and_states_are_refused(training):
    with pytest.raises(OVHCloudAIValidationError):
        training.get_job("")
    with pytest.raises(OVHCloudAIValidationError):
        training.list_jobs(state="STOPPED")
    with pytest.raises(OVHCloudAIValidationError):
        training.wait_for_job("0b5f1b8e-0000-4000-8000-000000000000", target_states=["FINISHED"])


def test_custom_region_from_connection_extra(monkeypatch, emu):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps(
            {
                "conn_type": "ovhcloud_ai_training",
                "password": "training-token",
                "extra": {"regions": {"de": emu.url}},
            }
        ),
    )
    hook = OVHCloudAITrainingHook(region="de")
    assert hook.base_url == emu.url
    assert hook.list_jobs()["items"] == []


def test_bare_host_with_path_and_port(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT",
        json.dumps({"conn_type": "ovhcloud_ai_endpoints", "host": "proxy.internal/ovh/v1", "port": 8443, "password": "k3y-abc"}),
    )
    from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook

    assert OVHCloudAIEndpointsHook().base_url == "https://proxy.internal:8443/ovh/v1"


def test_429_on_job_submission_says_it_was_not_retried(emu, training):
    from ovhcloud_ai_provider.exceptions import OVHCloudAIRateLimitedError

    emu.faults.fail_next(1, status=429, path_prefix="/v1/job", method="POST")
    with pytest.raises(OVHCloudAIRateLimitedError, match="not retried"):
        training.submit_job(image=IMAGE)
