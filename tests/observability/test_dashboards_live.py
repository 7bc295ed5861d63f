"""The strongest offline dashboard test: real emitters -> exporter + Pushgateway -> Prometheus -> every panel.

Task processes (forked, real files) record through the public API in multiprocess mode, others push
last-run gauges to a real Pushgateway; a real Prometheus scrapes the exporter and the gateway every second
and loads the alert rules. Every dashboard expression must then return a non-empty, finite result, every
template variable must have values, and every alert rule must evaluate without error. Only this step catches
panels that are valid PromQL but empty (observability.md 4, step 7).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Collection
from pathlib import Path

import pytest

from ovhcloud_ai_provider.observability import delivery, metrics
from ovhcloud_ai_provider.observability.context import task_observability

from .dashboards import ALERT_FILE, DASHBOARD_FILES, dashboard_exprs, variable_queries
from .helpers import fake_context, make_job
from .stack import Server, http_get, is_finite, start_exporter, start_prometheus, start_pushgateway

pytestmark = pytest.mark.stack

MODELS = ("Mistral-7B-Instruct-v0.3", "gpt-oss-120b")


def _emit(index: int, pushgateway_url: str | None) -> None:
    """One task process. With ``pushgateway_url`` it runs in pushgateway mode instead of multiprocess."""
    if pushgateway_url:
        os.environ["OVHCLOUD_AI_METRICS_MODE"] = "pushgateway"
        os.environ["OVHCLOUD_AI_PUSHGATEWAY_URL"] = pushgateway_url
        delivery.reset()
    model = MODELS[index % 2]
    with task_observability(fake_context(f"dag_{index % 2}", f"task_{index % 3}")):
        for attempt in range(4):
            status = (200, 200, 429, 503)[attempt] if attempt < 3 or index % 2 else 200
            metrics.record_http_attempt(
                service="ai_endpoints", method="POST", route="/v1/chat/completions", status=status,
                error_type=None, duration_s=0.05 * (attempt + 1) + 0.01 * index, model=model, operation="chat",
            )  # fmt: skip
            if status == 200:
                metrics.record_llm_usage(operation="chat", model=model, input_tokens=100 + index, output_tokens=20 + index)
        metrics.record_http_attempt(
            service="ai_training", method="GET", route="/v1/job/{id}", status=None, error_type="ConnectionError",
            duration_s=1.0,
        )  # fmt: skip
        metrics.record_http_attempt(
            service="ai_training", method="GET", route="/v1/job/{id}", status=200, error_type=None, duration_s=0.2
        )
        gpu = ("L40s", "H100")[index % 2]
        flavor = {"L40s": "l40s-1-gpu", "H100": "h100-1-gpu"}[gpu]
        state = "FAILED" if index % 3 == 0 else "DONE"
        metrics.record_training_job_finished(
            make_job(f"job-{index}", resources={"gpu": 1, "gpuModel": gpu, "flavor": flavor},
                     status={"state": state, "duration": 30 + index})
        )  # fmt: skip
    os._exit(0)


def emit(indexes: range, pushgateway_url: str) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_emit, args=(i, pushgateway_url if i % 4 == 3 else None)) for i in indexes]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0


def test_every_panel_returns_finite_data_from_a_live_prometheus(mp_dir: Path, tmp_path: Path) -> None:
    with start_pushgateway(tmp_path) as pgw, start_exporter(mp_dir) as exporter:
        targets = {"ovhcloud-ai-exporter": [exporter.address], "pushgateway": [pgw.address]}
        with start_prometheus(tmp_path, targets=targets, rule_files=[ALERT_FILE]) as prom:
            # This (live) process waits on a queued and a running job: the live gauges.
            queued = make_job("waiting-q", status={"state": "QUEUED", "history": [{"date": "2026-01-01T00:00:00Z", "state": "QUEUED"}]})
            metrics.record_training_job_state(queued, dag_id="dag_0", task_id="wait")
            metrics.record_training_job_state(make_job("waiting-r", status={"state": "RUNNING"}), dag_id="dag_0", task_id="wait")
            emit(range(0, 8), pgw.url)
            prom.wait_for('sum(ovhcloud_ai_requests_total{job="ovhcloud-ai-exporter"})', deadline_s=90)
            # A second wave after the first scrape, so rate()/histogram_quantile() see increases.
            emit(range(8, 16), pgw.url)
            in_multiprocess = [i for i in range(16) if i % 4 != 3]  # the others only push last-run gauges
            expected_attempts = len(in_multiprocess) * 6
            prom.wait_for(f"sum(ovhcloud_ai_requests_total) == {expected_attempts}", deadline_s=60)
            assert_panels_and_variables(prom)
            assert_alert_rules_evaluate(prom)
            # exact totals through the whole pipeline
            tokens = prom.query('sum(ovhcloud_ai_llm_tokens_total{gen_ai_token_type="input"})')
            expected_tokens = sum((100 + i) * (2 if i % 2 else 3) for i in in_multiprocess)
            assert float(tokens[0]["value"][1]) == expected_tokens
            groups = prom.query('count(ovhcloud_ai_task_last_completion_timestamp_seconds{job="airflow_ovhcloud_ai"})')
            assert float(groups[0]["value"][1]) >= 2


def assert_panels_and_variables(
    prom: Server,
    *,
    deadline_s: float = 60.0,
    allow_empty: Collection[str] = (),
    allow_nan: bool = False,
) -> None:
    """Every dashboard expression returns a non-empty, finite result on ``prom`` (and variables have values).

    What the data must contain for the strict default (see the test above): two waves of recordings with a
    scrape in between (``histogram_quantile`` over a zero ``rate()`` is NaN), 429/5xx attempts, finished jobs,
    and a *live* process waiting on a QUEUED job (the live gauges vanish with dead processes). For a partial
    data set, ``allow_empty`` names catalog families whose panels may be empty and ``allow_nan`` accepts NaN
    quantiles; both are reported, never silently passed.
    """
    exprs = [
        e
        for path in DASHBOARD_FILES
        for e in dashboard_exprs(path)
        if not (allow_empty and any(family in e.raw for family in allow_empty))
    ]
    pending = {e.where: e for e in exprs}
    deadline = time.monotonic() + deadline_s
    last: dict[str, object] = {}
    while pending and time.monotonic() < deadline:
        for where, expr in list(pending.items()):
            result = prom.query(expr.promql)
            last[where] = result
            if result and (allow_nan or all(is_finite(r) for r in result)):
                del pending[where]
        if pending:
            time.sleep(0.5)
    assert not pending, "empty or non-finite panels:\n" + "\n".join(
        f"{w}: {pending[w].promql} -> {last.get(w)}" for w in pending
    )
    for path in DASHBOARD_FILES:
        for name, metric, label in variable_queries(path):
            if metric not in allow_empty:
                assert prom.label_values(label, metric), f"{path.name}: variable {name} has no values"


def assert_alert_rules_evaluate(prom: Server) -> None:
    deadline = time.monotonic() + 30
    rules: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        status, body = http_get(prom.url + "/api/v1/rules")
        assert status == 200
        rules = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]]
        if rules and all(r.get("health") == "ok" for r in rules):
            break
        time.sleep(0.5)
    assert len(rules) == 5 and all(r.get("health") == "ok" for r in rules), rules
