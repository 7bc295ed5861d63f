"""Pushgateway mode against the real ``prometheus-pushgateway`` binary (PUT semantics, last-run gauges)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import structlog

from ovhcloud_ai_provider.observability import catalog, delivery, metrics
from ovhcloud_ai_provider.observability.context import task_observability

from .helpers import fake_context, make_job
from .stack import Server, free_port, http_get, start_pushgateway

pytestmark = pytest.mark.stack


@pytest.fixture
def pushgateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with start_pushgateway(tmp_path) as server:
        monkeypatch.setenv("OVHCLOUD_AI_METRICS_MODE", "pushgateway")
        monkeypatch.setenv("AIRFLOW__OVHCLOUD_AI__PUSHGATEWAY_URL", server.url)
        delivery.reset()
        yield server


def groups(server: Server) -> list[dict[str, Any]]:
    """``/api/v1/metrics``: one entry per group, with its labels and metric families."""
    status, body = http_get(server.url + "/api/v1/metrics")
    assert status == 200
    return list(json.loads(body)["data"])


def group_values(server: Server, dag_id: str, task_id: str) -> dict[str, dict[frozenset[tuple[str, str]], float]]:
    found = [g for g in groups(server) if g["labels"].get("dag_id") == dag_id and g["labels"].get("task_id") == task_id]
    assert len(found) == 1, groups(server)
    group = found[0]
    assert group["labels"] == {"job": catalog.PUSHGATEWAY_JOB, "dag_id": dag_id, "task_id": task_id}
    out: dict[str, dict[frozenset[tuple[str, str]], float]] = {}
    for name, family in group.items():
        if name in ("labels", "last_push_successful"):
            continue
        assert family["type"] == "GAUGE", name
        out[name] = {
            frozenset((k, v) for k, v in m["labels"].items() if k not in ("job", "dag_id", "task_id", "instance")): float(m["value"])
            for m in family["metrics"]
        }
    return out


def run_task(dag_id: str, task_id: str, *, tokens: int = 0, job: dict[str, Any] | None = None, fail: bool = False) -> None:
    try:
        with task_observability(fake_context(dag_id, task_id)):
            if tokens:
                metrics.record_http_attempt(
                    service="ai_endpoints", method="POST", route="/v1/chat/completions", status=200,
                    error_type=None, duration_s=0.1, model="gpt-oss-120b", operation="chat",
                )  # fmt: skip
                metrics.record_llm_usage(operation="chat", model="gpt-oss-120b", input_tokens=tokens, output_tokens=tokens // 2)
            if job is not None:
                metrics.record_training_job_finished(job)
            if fail:
                raise RuntimeError("task failed")
    except RuntimeError:
        if not fail:
            raise


def test_success_pushes_only_last_run_gauges(pushgateway: Server) -> None:
    run_task("dag_p", "llm", tokens=1000, job=make_job())
    values = group_values(pushgateway, "dag_p", "llm")
    pushed = set(values) - {"push_time_seconds", "push_failure_time_seconds"}
    assert pushed == {f.name for f in catalog.FAMILIES if "pushgateway" in f.delivery}
    assert not any(name.endswith(("_total", "_bucket")) for name in values), "never counters through it"
    assert values["ovhcloud_ai_task_last_run_llm_tokens"] == {
        frozenset({("gen_ai_token_type", "input")}): 1000.0,
        frozenset({("gen_ai_token_type", "output")}): 500.0,
    }
    cost = values["ovhcloud_ai_task_last_run_cost"]
    assert cost[frozenset({("service", "ai_endpoints"), ("currency", "EUR")})] == pytest.approx((1000 * 0.09 + 500 * 0.47) / 1e6)
    assert cost[frozenset({("service", "ai_training"), ("currency", "EUR")})] == pytest.approx(0.18)
    success = values["ovhcloud_ai_task_last_success_timestamp_seconds"][frozenset()]
    assert success == values["ovhcloud_ai_task_last_completion_timestamp_seconds"][frozenset()] > 1.7e9


def test_second_push_replaces_the_group(pushgateway: Server) -> None:
    from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

    run_task("dag_p", "put", tokens=1000)
    stale = CollectorRegistry()
    Gauge("ovhcloud_ai_stale_leftover", "left by an older provider version", registry=stale).set(1)
    pushadd_to_gateway(pushgateway.url, job=catalog.PUSHGATEWAY_JOB, registry=stale, grouping_key={"dag_id": "dag_p", "task_id": "put"})
    assert "ovhcloud_ai_stale_leftover" in group_values(pushgateway, "dag_p", "put")
    first_success = group_values(pushgateway, "dag_p", "put")["ovhcloud_ai_task_last_success_timestamp_seconds"][frozenset()]
    run_task("dag_p", "put", tokens=10)
    values = group_values(pushgateway, "dag_p", "put")
    assert "ovhcloud_ai_stale_leftover" not in values, "PUT replaces the whole group"
    assert values["ovhcloud_ai_task_last_run_llm_tokens"][frozenset({("gen_ai_token_type", "input")})] == 10.0
    assert values["ovhcloud_ai_task_last_success_timestamp_seconds"][frozenset()] >= first_success
    assert len([g for g in groups(pushgateway) if g["labels"].get("task_id") == "put"]) == 1, "no pile-up"


def test_failed_run_keeps_last_success(pushgateway: Server) -> None:
    run_task("dag_p", "flaky", tokens=100)
    before = group_values(pushgateway, "dag_p", "flaky")
    run_task("dag_p", "flaky", tokens=7, fail=True)
    after = group_values(pushgateway, "dag_p", "flaky")
    key = "ovhcloud_ai_task_last_success_timestamp_seconds"
    assert after[key] == before[key], "a failure must not erase the last success"
    assert (
        after["ovhcloud_ai_task_last_completion_timestamp_seconds"][frozenset()]
        >= before["ovhcloud_ai_task_last_completion_timestamp_seconds"][frozenset()]
    )
    assert after["ovhcloud_ai_task_last_run_llm_tokens"][frozenset({("gen_ai_token_type", "input")})] == 7.0


def test_groups_are_per_task_and_mapped_instances_share_one(pushgateway: Server) -> None:
    for map_index in range(3):
        with task_observability(fake_context("dag_m", "mapped", map_index=map_index)):
            pass
    run_task("dag_m", "other")
    labels = sorted((g["labels"]["dag_id"], g["labels"]["task_id"]) for g in groups(pushgateway))
    assert labels == [("dag_m", "mapped"), ("dag_m", "other")]


def test_deferral_pushes_nothing(pushgateway: Server) -> None:
    class TaskDeferred(BaseException):
        pass

    with pytest.raises(TaskDeferred), task_observability(fake_context("dag_d", "deferring")):
        raise TaskDeferred()
    assert groups(pushgateway) == []


def _child_push(url: str) -> None:
    run_task("dag_fork", "child", tokens=3)


def test_push_from_forked_child(pushgateway: Server) -> None:
    run_task("dag_fork", "parent", tokens=5)  # sink built in the parent first
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_child_push, args=(pushgateway.url,))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    child = group_values(pushgateway, "dag_fork", "child")["ovhcloud_ai_task_last_run_llm_tokens"]
    assert child[frozenset({("gen_ai_token_type", "input")})] == 3.0
    parent = group_values(pushgateway, "dag_fork", "parent")["ovhcloud_ai_task_last_run_llm_tokens"]
    assert parent[frozenset({("gen_ai_token_type", "input")})] == 5.0


def test_unreachable_pushgateway_never_fails_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHCLOUD_AI_METRICS_MODE", "pushgateway")
    monkeypatch.setenv("OVHCLOUD_AI_PUSHGATEWAY_URL", f"http://127.0.0.1:{free_port()}")
    delivery.reset()
    with structlog.testing.capture_logs() as logs:
        run_task("dag_x", "t", tokens=1)
        run_task("dag_x", "t", tokens=1)
    assert [e["where"] for e in logs if e["event"] == "observability.error"] == ["metrics.flush"]
