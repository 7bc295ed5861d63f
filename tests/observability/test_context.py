"""task_observability: structlog context, metric labels, outcomes, and the Airflow fallback."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import structlog

from ovhcloud_ai_provider.observability import context, metrics
from ovhcloud_ai_provider.observability.context import current_task_labels, task_observability

from .helpers import fake_context, scrape_dir, total


class TaskDeferred(BaseException):
    """Same name as Airflow's: classified by name, so Airflow need not be imported."""


class AirflowSkipException(Exception):
    pass


def test_binds_structlog_contextvars_and_labels() -> None:
    assert current_task_labels() == {"dag_id": "", "task_id": ""}
    with task_observability(fake_context("d1", "t1", run_id="r-1", try_number=2, map_index=3)) as scope:
        bound = structlog.contextvars.get_contextvars()
        assert bound == {"dag_id": "d1", "task_id": "t1", "run_id": "r-1", "try_number": 2, "map_index": 3}
        assert current_task_labels() == {"dag_id": "d1", "task_id": "t1"}
        assert scope is not None and scope.labels == {"dag_id": "d1", "task_id": "t1"}
    assert structlog.contextvars.get_contextvars() == {}
    assert current_task_labels() == {"dag_id": "", "task_id": ""}


def test_run_ids_never_become_metric_labels(mp_dir: Path) -> None:
    with task_observability(fake_context("d1", "t1", run_id="scheduled__2026")):
        metrics.record_llm_usage(operation="chat", model="gpt-oss-20b", input_tokens=1, output_tokens=1)
    text = (scrape_dir(mp_dir)).keys()
    label_names = {name for _, labels in text for name, _ in labels}
    assert not label_names & {"run_id", "try_number", "map_index"}


def test_task_exception_propagates_and_records_completion_only(mp_dir: Path) -> None:
    with pytest.raises(ValueError, match="boom"), task_observability(fake_context("d", "fails")):
        raise ValueError("boom")
    samples = scrape_dir(mp_dir)
    assert total(samples, "ovhcloud_ai_task_last_completion_timestamp_seconds", task_id="fails") > 0
    assert total(samples, "ovhcloud_ai_task_last_success_timestamp_seconds", task_id="fails") == 0


def test_deferral_is_not_a_completion_and_skip_is_not_a_success(mp_dir: Path) -> None:
    with pytest.raises(TaskDeferred), task_observability(fake_context("d", "defers")):
        raise TaskDeferred()
    with pytest.raises(AirflowSkipException), task_observability(fake_context("d", "skips")):
        raise AirflowSkipException()
    samples = scrape_dir(mp_dir)
    assert total(samples, "ovhcloud_ai_task_last_completion_timestamp_seconds", task_id="defers") == 0
    assert total(samples, "ovhcloud_ai_task_last_completion_timestamp_seconds", task_id="skips") > 0
    assert total(samples, "ovhcloud_ai_task_last_success_timestamp_seconds", task_id="skips") == 0


def test_duration_uses_the_task_instance_start(mp_dir: Path) -> None:
    start = datetime.now(timezone.utc) - timedelta(seconds=90)
    with task_observability(fake_context("d", "resumed", start_date=start)):
        pass
    duration = total(scrape_dir(mp_dir), "ovhcloud_ai_task_last_run_duration_seconds", task_id="resumed")
    assert 90 <= duration < 3600


def test_nested_blocks_are_one_run(mp_dir: Path) -> None:
    ctx = fake_context("d", "nested")
    with task_observability(ctx) as outer, task_observability(ctx) as inner:
        assert inner is outer
        metrics.record_llm_usage(operation="chat", model="gpt-oss-20b", input_tokens=10, output_tokens=0)
    assert total(scrape_dir(mp_dir), "ovhcloud_ai_task_last_run_llm_tokens", gen_ai_token_type="input") == 10


def test_never_raises_on_garbage_context() -> None:
    for ctx in (None, {}, {"ti": object()}, {"ti": {"dag_id": 5}}, "nonsense"):
        with task_observability(ctx):  # type: ignore[arg-type]
            pass


def test_falls_back_on_airflow_current_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hooks called from @task functions: no wrapper, but the Task SDK knows the running task."""
    pytest.importorskip("airflow.sdk")
    import airflow.sdk  # noqa: F401 - loaded, as in every task process
    from airflow.sdk.execution_time.context import set_current_context

    assert "airflow.sdk" in sys.modules
    ctx: Any = fake_context("from_sdk", "taskflow")
    with set_current_context(ctx):
        assert current_task_labels() == {"dag_id": "from_sdk", "task_id": "taskflow"}
    assert current_task_labels() == {"dag_id": "", "task_id": ""}


def test_task_labels_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHCLOUD_AI_METRICS_TASK_LABELS", "false")
    from ovhcloud_ai_provider.observability import config

    config.clear_cache()
    with task_observability(fake_context("d", "t")):
        assert current_task_labels() == {"dag_id": "", "task_id": ""}
        assert structlog.contextvars.get_contextvars()["dag_id"] == "d"  # logs keep them


def test_classify_exit() -> None:
    assert context.classify_exit(None) == "success"
    assert context.classify_exit(RuntimeError) == "failed"
    assert context.classify_exit(TaskDeferred) == "deferred"
    assert context.classify_exit(AirflowSkipException) == "skipped"
