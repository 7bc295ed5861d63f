"""The trigger alone: JSON round trip, one terminal event, wall-clock deadline, kill vs cleanup."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import pytest

from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.triggers.ai_training import EVENT_STATUSES, OVHCloudAITrainingJobTrigger


async def collect(trigger: OVHCloudAITrainingJobTrigger) -> list:
    return [event async for event in trigger.run()]


def rebuild(trigger: OVHCloudAITrainingJobTrigger) -> OVHCloudAITrainingJobTrigger:
    path, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))  # what the triggerer stores is plain JSON
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)(**kwargs)


def test_serialize_round_trip_is_plain_json():
    trigger = OVHCloudAITrainingJobTrigger(
        job_id="abc", region="gra", target_states=["DONE"], check_interval=5, end_time=1_900_000_000.5, stop_on_kill=False
    )
    path, kwargs = trigger.serialize()
    assert path == "ovhcloud_ai_provider.triggers.ai_training.OVHCloudAITrainingJobTrigger"
    again = rebuild(trigger)
    assert again.serialize() == (path, kwargs)


@pytest.mark.parametrize(("scenario", "status", "state"), [("success", "success", "DONE"), ("fail", "failure", "FAILED")])
def test_exactly_one_terminal_event(ovh_connections, scenario, status, state):
    job = OVHCloudAITrainingHook().submit_job(image="ubuntu:22.04", labels={"emulator-scenario": scenario})
    trigger = rebuild(OVHCloudAITrainingJobTrigger(job_id=job["id"], check_interval=0.2, end_time=time.time() + 60))
    events = asyncio.run(collect(trigger))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == status and payload["status"] in EVENT_STATUSES
    assert payload["state"] == state and payload["job_id"] == job["id"]
    json.dumps(payload)


def test_deadline_is_wall_clock_and_stops_the_job(ovh_connections):
    emu = ovh_connections
    job = OVHCloudAITrainingHook().submit_job(image="ubuntu:22.04", labels={"emulator-scenario": "long_queue"})
    # A trigger recreated on another triggerer after its deadline passed times out at once.
    trigger = rebuild(OVHCloudAITrainingJobTrigger(job_id=job["id"], check_interval=3600, end_time=time.time() - 1))
    events = asyncio.run(collect(trigger))
    assert [e.payload["status"] for e in events] == ["timeout"]
    # One look at the job, then the deadline (not the hour-long poll interval) ended the wait.
    assert emu.accounting()["requests"]["by_route"]["GET /v1/job/{id}"] == {"200": 1}
    assert events[0].payload["stopped"] is True
    assert emu.accounting()["jobs"]["killed"] == 1


def test_cleanup_never_stops_but_on_kill_does(ovh_connections):
    emu = ovh_connections
    job = OVHCloudAITrainingHook().submit_job(image="ubuntu:22.04", labels={"emulator-scenario": "long_queue"})
    trigger = OVHCloudAITrainingJobTrigger(job_id=job["id"], end_time=time.time() + 60)
    asyncio.run(trigger.cleanup())
    assert emu.accounting()["jobs"]["killed"] == 0
    asyncio.run(trigger.on_kill())
    assert emu.accounting()["jobs"]["killed"] == 1
    sensor_like = OVHCloudAITrainingJobTrigger(job_id=job["id"], end_time=time.time() + 60, stop_on_kill=False)
    asyncio.run(sensor_like.on_kill())
    assert emu.accounting()["jobs"]["killed"] == 1


def test_unknown_job_gives_one_error_event(ovh_connections):
    trigger = OVHCloudAITrainingJobTrigger(job_id="0b5f1b8e-0000-4000-8000-000000000000", check_interval=0.1)
    events = asyncio.run(collect(trigger))
    assert [e.payload["status"] for e in events] == ["error"]
    assert "404" in events[0].payload["message"]


def test_trigger_does_not_block_the_event_loop(ovh_connections):
    """While the trigger polls a slow API, other coroutines keep running."""
    emu = ovh_connections
    job = OVHCloudAITrainingHook().submit_job(image="ubuntu:22.04")
    emu.faults.latency(0.5, path_prefix=f"/v1/job/{job['id']}")
    trigger = OVHCloudAITrainingJobTrigger(job_id=job["id"], check_interval=0.1, end_time=time.time() + 60)

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        async for _ in trigger.run():
            break
        task.cancel()
        return ticks

    ticks = asyncio.run(main())
    assert ticks > 20


def test_bad_connection_gives_one_error_event(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT", json.dumps({"conn_type": "generic", "login": "gra"}))
    trigger = OVHCloudAITrainingJobTrigger(job_id="0b5f1b8e-0000-4000-8000-000000000000", check_interval=0.1)
    events = asyncio.run(collect(trigger))
    assert [e.payload["status"] for e in events] == ["error"]
    assert "token not found" in events[0].payload["message"]
