"""Clock-driven job state machine: every scenario, every one of the 13 states, logs."""

from __future__ import annotations

import re
import time

import pytest

from ovhcloud_ai_provider.testing.emulator import STATES, TERMINAL_STATES, OVHEmulator

from .conftest import Api, states

HEAD = ["QUEUED", "INITIALIZING", "PENDING"]

SCENARIOS = {
    "success": ([*HEAD, "RUNNING", "FINALIZING", "DONE"], 0, "JOB_DONE"),
    "fail": ([*HEAD, "RUNNING", "FAILED"], 1, "JOB_FAILED"),
    "error": (["QUEUED", "INITIALIZING", "ERROR"], None, "JOB_ERROR"),
    "sync_failed": ([*HEAD, "RUNNING", "FINALIZING", "SYNC_FAILED"], 0, "DATASYNC_FAILED"),
    "long_queue": ([*HEAD, "RUNNING", "FINALIZING", "DONE"], 0, "JOB_DONE"),
    "interrupted": (
        [*HEAD, "RUNNING", "INTERRUPTING", "FINALIZING", "INTERRUPTED"],
        None,
        "JOB_INTERRUPTED_BY_PLATFORM",
    ),
    "timeout": ([*HEAD, "RUNNING", "TIMEOUT", "FINALIZING", "INTERRUPTED"], None, "JOB_TIMEOUT"),
    "restart": ([*HEAD, "RUNNING", "RESTARTING", "RUNNING", "FINALIZING", "DONE"], 0, "JOB_DONE"),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_history_exit_code_and_info(emu: OVHEmulator, training: Api, scenario: str) -> None:
    expected, exit_code, code = SCENARIOS[scenario]
    job = training.create_job(labels={"emulator-scenario": scenario})
    assert job["status"]["state"] == "QUEUED"
    emu.advance(3600 * 0.05 + 60)  # beyond even long_queue's scaled hour
    final = training.job(job["id"])
    status = final["status"]
    assert states(final) == expected
    assert status["state"] == expected[-1] and status["state"] in TERMINAL_STATES
    assert status["exitCode"] == exit_code
    assert status["info"]["code"] == code
    if scenario == "fail":
        assert status["info"]["message"] == "Job failed with code 1"
    dates = [h["date"] for h in status["history"]]
    assert dates == sorted(dates)
    assert status["lastTransitionDate"] == dates[-1] == status["finalizedAt"]


def test_all_thirteen_states_are_reachable(emu: OVHEmulator, training: Api) -> None:
    seen: set[str] = set()
    for scenario in SCENARIOS:
        job = training.create_job(labels={"emulator-scenario": scenario})
        emu.advance(200)
        seen.update(states(training.job(job["id"])))
    assert seen == set(STATES)
    assert len(STATES) == 13


def test_phases_follow_the_clock(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0, default_run_seconds=2.0)  # phases 0.3 s, RUNNING 2 s
    job = training.create_job()
    observed = []
    for step in (0.0, 0.3, 0.3, 0.3, 1.0, 1.0, 0.3):
        emu.advance(step)
        observed.append(training.job(job["id"])["status"]["state"])
    assert observed == ["QUEUED", "INITIALIZING", "PENDING", "RUNNING", "RUNNING", "FINALIZING", "DONE"]


def test_running_status_fields(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0)
    job = training.create_job(labels={"emulator-run-seconds": "100"})
    emu.advance(0.9 + 42.5)
    status = training.job(job["id"])["status"]
    assert status["state"] == "RUNNING"
    assert status["info"] == {"code": "JOB_RUNNING", "message": "Job is running"}
    assert status["duration"] == 42
    assert status["startedAt"] and status["initializingAt"] and status["stoppedAt"] is None
    assert status["ip"] and status["exitCode"] is None
    emu.advance(100)
    done = training.job(job["id"])["status"]
    assert done["duration"] == 100 and done["stoppedAt"] and done["ip"] is None


def test_long_queue_stays_queued(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0)
    job = training.create_job(labels={"emulator-scenario": "long_queue"})
    emu.advance(3500)
    assert training.job(job["id"])["status"]["state"] == "QUEUED"
    emu.advance(200)
    assert training.job(job["id"])["status"]["state"] != "QUEUED"


def test_run_seconds_label_and_scaling(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(labels={"emulator-run-seconds": "60"})  # 3 s at time_scale 0.05
    emu.advance(2.5)
    assert training.job(job["id"])["status"]["state"] == "RUNNING"
    emu.advance(1)
    assert training.job(job["id"])["status"]["state"] == "DONE"


def test_spec_timeout_interrupts_and_auto_restart_restarts(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0)
    job = training.create_job(timeout=5, labels={"emulator-run-seconds": "60"})
    emu.advance(100)
    final = training.job(job["id"])
    assert states(final)[-3:] == ["TIMEOUT", "FINALIZING", "INTERRUPTED"]
    assert final["status"]["timeoutAt"] is not None and final["status"]["duration"] == 5

    auto = training.create_job(timeout=5, timeoutAutoRestart=True, labels={"emulator-run-seconds": "12"})
    emu.advance(100)
    history = states(training.job(auto["id"]))
    assert history.count("RESTARTING") == 2 and history[-1] == "DONE"


def test_configure_time_scale_applies_to_new_jobs_only(emu: OVHEmulator, training: Api) -> None:
    fast = training.create_job()  # time_scale 0.05
    emu.configure(time_scale=100.0)
    slow = training.create_job()
    emu.advance(5)
    assert training.job(fast["id"])["status"]["state"] == "DONE"
    assert training.job(slow["id"])["status"]["state"] == "QUEUED"


# -- logs ----------------------------------------------------------------------------------------------------
LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z .+$")


def test_logs_are_plain_text_status_and_stdout_lines(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job()
    emu.advance(60)
    response = training.get(f"/v1/job/{job['id']}/log")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert all(LINE.match(line) for line in lines)
    ovh = [line.split(" ", 1)[1] for line in lines if " [ovh] " in line]
    assert ovh[1] == "[ovh] Job status is now INITIALIZING : JOB_INITIALIZING : Pulling job's data"
    assert [o.split(" ")[5] for o in ovh] == [
        "QUEUED",
        "INITIALIZING",
        "PENDING",
        "RUNNING",
        "FINALIZING",
        "DONE",
    ]
    stdout = [line for line in lines if " [ovh] " not in line]
    assert [re.sub(r"loss=\S+", "loss=X", s.split(" ", 1)[1]) for s in stdout] == [
        "Starting container ubuntu:22.04",
        "epoch 1/3 loss=X",
        "epoch 2/3 loss=X",
        "epoch 3/3 loss=X",
        "Training complete",
    ]
    # stdout is interleaved between RUNNING and FINALIZING
    assert lines.index(stdout[0]) > lines.index(next(x for x in lines if "now RUNNING" in x))
    assert lines.index(stdout[-1]) < lines.index(next(x for x in lines if "now FINALIZING" in x))
    assert re.search(r"epoch 1/3 loss=\d\.\d{4}$", stdout[1])


def test_logs_grow_with_time_and_support_tail_and_pages(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0)
    job = training.create_job(labels={"emulator-run-seconds": "8"})
    early = training.get(f"/v1/job/{job['id']}/log").text.splitlines()
    assert len(early) == 1 and "QUEUED" in early[0]
    emu.advance(0.9 + 2.5)  # RUNNING, first epoch printed at 2 s
    mid = training.get(f"/v1/job/{job['id']}/log").text.splitlines()
    assert "epoch 1/3" in mid[-1] and "epoch 2/3" not in "\n".join(mid)
    emu.advance(60)
    full = training.get(f"/v1/job/{job['id']}/log").text.splitlines()
    assert training.get(f"/v1/job/{job['id']}/log", params={"tail": 2}).text.splitlines() == full[-2:]
    assert training.get(f"/v1/job/{job['id']}/log", params={"tail": 0}).text == ""
    assert (
        training.get(f"/v1/job/{job['id']}/log", params={"page": 2, "size": 3}).text.splitlines() == full[3:6]
    )
    assert training.get(f"/v1/job/{job['id']}/log", params={"follow": "true"}).text.splitlines() == full
    assert training.get(f"/v1/job/{job['id']}/log", params={"tail": "x"}).status_code == 400


def test_failed_and_killed_logs(emu: OVHEmulator, training: Api) -> None:
    failed = training.create_job(labels={"emulator-scenario": "fail"})
    emu.advance(60)
    text = training.get(f"/v1/job/{failed['id']}/log").text
    assert "Traceback (most recent call last):" in text
    assert text.rstrip().endswith("Job status is now FAILED : JOB_FAILED : Job failed with code 1")

    emu.configure(time_scale=1.0)
    killed = training.create_job(labels={"emulator-run-seconds": "100"})
    emu.advance(1.0)
    training.put(f"/v1/job/{killed['id']}/kill")
    emu.advance(60)
    text = training.get(f"/v1/job/{killed['id']}/log").text
    assert "epoch" not in text and "Training complete" not in text
    assert "INTERRUPTED : JOB_INTERRUPTED" in text


def test_env_var_values_never_reach_logs(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(envVars=[{"name": "HF_TOKEN", "value": "s3cr3t-value"}])
    emu.advance(60)
    assert "s3cr3t-value" not in training.get(f"/v1/job/{job['id']}/log").text


def test_real_clock_state_machine_is_monotonic(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(labels={"emulator-scenario": "restart"})
    seen: list[str] = []
    deadline = time.monotonic() + 5
    while not seen or seen[-1] != "DONE":
        assert time.monotonic() < deadline
        state = training.job(job["id"])["status"]["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        time.sleep(0.005)
    order = SCENARIOS["restart"][0]
    positions = [order.index(s) if s != "RUNNING" else None for s in seen]
    known = [p for p in positions if p is not None]
    assert known == sorted(known)
