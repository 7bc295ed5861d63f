"""The AI Training lifecycle through real Airflow (``dag.test()``: tasks and triggers inline)."""

from __future__ import annotations

import pytest

from tests.dagrun import run_dag, task_states, xcom

DAGS = "tests/dags/training_dags.py"


def only_job(emu):
    from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

    items = OVHCloudAITrainingHook().list_jobs()["items"]
    assert len(items) == 1, items
    return items[0]


@pytest.mark.parametrize("dag_id", ["ovhai_test_submit_sync", "ovhai_test_submit_deferred"])
def test_submit_and_wait_to_done(af, dag_id):
    run = run_dag(DAGS, dag_id)
    assert task_states(run) == {"submit": "success"}
    result = xcom(run, "submit")
    assert result["status"]["state"] == "DONE"
    job = only_job(af)
    assert result["id"] == job["id"]
    assert job["spec"]["labels"]["airflow-dag-id"] == dag_id
    assert job["spec"]["labels"]["airflow-task-id"] == "submit"
    assert {"airflow-ti", "airflow-spec"} <= set(job["spec"]["labels"])
    assert xcom(run, "submit", key="ovh_job_url") == job["status"]["infoUrl"]
    # XCom never carries env var values.
    assert all(env["value"] == "***" for env in result["spec"]["envVars"])
    assert af.accounting()["jobs"]["created"] == 1


@pytest.mark.parametrize("dag_id", ["ovhai_test_submit_sync", "ovhai_test_submit_deferred"])
@pytest.mark.parametrize(
    ("scenario", "state"), [("fail", "FAILED"), ("error", "ERROR"), ("sync_failed", "SYNC_FAILED"), ("interrupted", "INTERRUPTED")]
)
def test_each_failure_state_fails_the_task_with_details(af, dag_id, scenario, state, capfd):
    run = run_dag(DAGS, dag_id, run_conf={"scenario": scenario})
    assert task_states(run) == {"submit": "failed"}
    output = capfd.readouterr()
    text = output.out + output.err
    assert f"entered failure state: {state}" in text
    assert "log lines of the job" in text  # the job's last lines are in the error
    if scenario == "fail":
        assert "exit code 1" in text
    assert af.accounting()["jobs"]["created"] == 1


def test_retry_after_submit_reattaches_instead_of_submitting_again(af):
    # Try 1 submits, then every poll of the job fails: the task fails after the paid call.
    af.faults.fail_next(5, status=500, path_prefix="/v1/job/", method="GET")
    run = run_dag(DAGS, "ovhai_test_submit_retry")
    assert task_states(run) == {"submit": "success"}
    assert af.accounting()["jobs"]["created"] == 1
    assert xcom(run, "submit")["status"]["state"] == "DONE"


def test_killed_task_stops_its_job(af):
    run = run_dag(DAGS, "ovhai_test_submit_killed", run_conf={"run_seconds": "600"})
    assert task_states(run) == {"submit": "failed"}
    assert af.accounting()["jobs"]["killed"] == 1
    assert only_job(af)["status"]["state"] in {"INTERRUPTING", "FINALIZING", "INTERRUPTED"}


@pytest.mark.parametrize("dag_id", ["ovhai_test_wait_timeout_sync", "ovhai_test_wait_timeout_deferred"])
def test_wait_timeout_stops_the_job(af, dag_id, capfd):
    run = run_dag(DAGS, dag_id, run_conf={"scenario": "long_queue"})
    assert task_states(run) == {"submit": "failed"}
    assert "Timeout waiting for AI Training job" in "".join(capfd.readouterr())
    assert af.accounting()["jobs"]["killed"] == 1


def test_wait_timeout_can_leave_the_job_running(af):
    run = run_dag(DAGS, "ovhai_test_wait_timeout_keep", run_conf={"scenario": "long_queue"})
    assert task_states(run) == {"submit": "failed"}
    assert af.accounting()["jobs"]["killed"] == 0
    assert only_job(af)["status"]["state"] == "QUEUED"


@pytest.mark.parametrize("dag_id", ["ovhai_test_sensor_poke", "ovhai_test_sensor_deferred"])
def test_sensor_both_modes(af, dag_id):
    from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

    hook = OVHCloudAITrainingHook()
    ok = hook.submit_job(image="ubuntu:22.04", labels={"emulator-scenario": "success"})
    run = run_dag(DAGS, dag_id, run_conf={"job_id": ok["id"]})
    assert task_states(run) == {"sense": "success"}
    assert xcom(run, "sense")["status"]["state"] == "DONE"  # the same XCom in poke and deferrable mode
    bad = hook.submit_job(image="ubuntu:22.04", labels={"emulator-scenario": "fail"})
    run = run_dag(DAGS, dag_id, run_conf={"job_id": bad["id"]})
    assert task_states(run) == {"sense": "failed"}
    assert af.accounting()["jobs"]["killed"] == 0  # a sensor never stops someone else's job


def test_wait_operator_deferred(af):
    from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

    job = OVHCloudAITrainingHook().submit_job(image="ubuntu:22.04")
    run = run_dag(DAGS, "ovhai_test_wait_operator", run_conf={"job_id": job["id"]})
    assert task_states(run) == {"wait": "success"}
    assert xcom(run, "wait")["status"]["state"] == "DONE"


def test_example_training_pipeline(af, monkeypatch):
    monkeypatch.setenv("OVHAI_EXAMPLE_CHECK_INTERVAL", "1")
    run = run_dag("examples/example_ovhcloud_ai_training.py", "ovhcloud_ai_training_pipeline")
    assert task_states(run) == {"submit_training": "success", "wait_for_training": "success", "training_logs": "success"}
    assert "[ovh] Job status is now DONE" in xcom(run, "training_logs")
    assert af.accounting()["jobs"]["created"] == 1
