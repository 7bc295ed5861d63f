"""Idempotent submission without the scheduler: the same task instance executed twice pays once."""

from __future__ import annotations

from typing import Any

from ovhcloud_ai_provider.operators.ai_training import OVHCloudAITrainingSubmitJobOperator


class RecordingTI:
    """Just enough of a task instance for ``execute``: identity fields and an XCom sink."""

    def __init__(self, run_id: str = "manual__1", map_index: int = -1) -> None:
        self.dag_id, self.task_id, self.run_id, self.map_index, self.try_number = "dag", "train", run_id, map_index, 1
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def operator(**overrides: Any) -> OVHCloudAITrainingSubmitJobOperator:
    kwargs: dict[str, Any] = {"task_id": "train", "image": "ubuntu:22.04", "labels": {"emulator-scenario": "long_queue"}}
    kwargs.update(overrides)
    return OVHCloudAITrainingSubmitJobOperator(**kwargs)


def test_same_try_rerun_reattaches(ovh_connections):
    emu = ovh_connections
    first = operator().execute({"ti": RecordingTI()})
    second = operator().execute({"ti": RecordingTI()})
    assert first["id"] == second["id"]
    assert emu.accounting()["jobs"]["created"] == 1


def test_changed_spec_is_a_new_job(ovh_connections):
    emu = ovh_connections
    first = operator().execute({"ti": RecordingTI()})
    second = operator(command=["python", "other.py"]).execute({"ti": RecordingTI()})
    assert first["id"] != second["id"]
    assert emu.accounting()["jobs"]["created"] == 2


def test_other_map_index_or_run_is_a_new_job(ovh_connections):
    emu = ovh_connections
    operator().execute({"ti": RecordingTI(map_index=0)})
    operator().execute({"ti": RecordingTI(map_index=1)})
    operator().execute({"ti": RecordingTI(run_id="manual__2", map_index=0)})
    assert emu.accounting()["jobs"]["created"] == 3


def test_failed_job_is_submitted_anew(ovh_connections):
    from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

    emu = ovh_connections
    first = operator(labels={"emulator-scenario": "error", "emulator-run-seconds": "0"}).execute({"ti": RecordingTI()})
    OVHCloudAITrainingHook().wait_for_job(first["id"], target_states=["ERROR"], check_interval=0, timeout=30)
    second = operator(labels={"emulator-scenario": "error", "emulator-run-seconds": "0"}).execute({"ti": RecordingTI()})
    assert first["id"] != second["id"]
    assert emu.accounting()["jobs"]["created"] == 2


def test_opt_out_always_submits(ovh_connections):
    emu = ovh_connections
    operator(reattach=False).execute({"ti": RecordingTI()})
    operator(reattach=False).execute({"ti": RecordingTI()})
    assert emu.accounting()["jobs"]["created"] == 2


def test_link_and_job_id_are_pushed_before_any_wait(ovh_connections):
    ti = RecordingTI()
    job = operator().execute({"ti": ti})
    assert ti.pushed["ovh_job_id"] == job["id"]
    assert ti.pushed["ovh_job_url"] == job["status"]["infoUrl"]
