"""Reading durations, queue time and GPU facts out of AI Training Job dicts."""

from __future__ import annotations

import pytest

from ovhcloud_ai_provider.observability import jobfacts

from .helpers import make_job


def test_queue_time_from_history_then_fields() -> None:
    assert jobfacts.queue_duration_seconds(make_job()) == pytest.approx(30.5)
    no_history = make_job(status={"history": [], "queuedAt": "2026-01-01T00:00:00Z", "startedAt": "2026-01-01T00:01:00Z"})
    assert jobfacts.queue_duration_seconds(no_history) == 60
    assert jobfacts.queue_duration_seconds(make_job(status={"history": [], "startedAt": None, "queuedAt": None})) is None


def test_run_duration_fallbacks() -> None:
    assert jobfacts.run_duration_seconds(make_job()) == 125
    job = make_job()
    del job["status"]["duration"]
    assert jobfacts.run_duration_seconds(job) == 125  # RUNNING -> FINALIZING in history
    job["status"]["history"] = []
    job["status"]["stoppedAt"] = "2026-01-01T00:01:30.5Z"
    assert jobfacts.run_duration_seconds(job) == 60


def test_gpu_facts() -> None:
    assert (jobfacts.gpu_count(make_job()), jobfacts.gpu_model(make_job())) == (2, "L40s")
    cpu = make_job(resources={"cpu": 3, "flavor": "ai1-1-cpu"})
    assert (jobfacts.gpu_count(cpu), jobfacts.gpu_model(cpu)) == (0, "cpu")
    default = make_job(resources={})
    assert jobfacts.flavor(default) == "ai1-1-gpu" and jobfacts.gpu_count(default) == 1
    assert jobfacts.gpu_model(default, {"ai1-1-gpu": "Tesla-V100S"}) == "Tesla-V100S"
    assert jobfacts.gpu_model(make_job(resources={"gpu": 1, "flavor": "x"})) == "unknown"


def test_time_parsing_is_tolerant() -> None:
    assert jobfacts.parse_time("2021-02-23T08:45:01.297780Z") is not None
    assert jobfacts.parse_time("2021-02-23T08:45:01.2Z") is not None
    assert jobfacts.parse_time(1_700_000_000) is not None
    assert jobfacts.parse_time("yesterday") is None and jobfacts.parse_time(None) is None
