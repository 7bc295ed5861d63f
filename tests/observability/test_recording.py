"""Recording in each mode, with real multiprocess files and real child processes."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import os
import sys
from pathlib import Path

import pytest
import structlog

from ovhcloud_ai_provider.observability import delivery, metrics, pricing
from ovhcloud_ai_provider.observability.context import task_observability

from .helpers import fake_context, make_job, run_python, scrape_dir, total

MODEL = "Mistral-7B-Instruct-v0.3"


def _llm_traffic(n_ok: int, n_429: int, tokens_in: int, tokens_out: int) -> None:
    for _ in range(n_ok):
        metrics.record_http_attempt(
            service="ai_endpoints", method="POST", route="/v1/chat/completions", status=200,
            error_type=None, duration_s=0.05, model=MODEL, operation="chat",
        )  # fmt: skip
        metrics.record_llm_usage(operation="chat", model=MODEL, input_tokens=tokens_in, output_tokens=tokens_out)
    for _ in range(n_429):
        metrics.record_http_attempt(
            service="ai_endpoints", method="POST", route="/v1/chat/completions", status=429,
            error_type=None, duration_s=0.01, model=MODEL, operation="chat",
        )  # fmt: skip


def _child_task(index: int) -> None:
    """Body of one simulated task process (forked)."""
    with task_observability(fake_context("dag_mp", f"task_{index % 3}")):
        _llm_traffic(n_ok=index + 1, n_429=index % 2, tokens_in=10 * (index + 1), tokens_out=index)
        metrics.record_training_job_finished(make_job(f"job-{index}"))


def test_off_mode_is_a_noop_but_still_prices(tmp_path: Path) -> None:
    assert delivery.mode() == "off" and delivery.sink() is None
    _llm_traffic(2, 1, 100, 10)
    metrics.record_training_job_finished(make_job())
    metrics.flush()
    cost = metrics.record_llm_usage(operation="chat", model=MODEL, input_tokens=1_000_000, output_tokens=0)
    assert cost == pytest.approx(0.11)
    assert list(tmp_path.iterdir()) == []


def test_multiprocess_records_every_family_exactly(mp_dir: Path) -> None:
    with task_observability(fake_context("dag_x", "task_y")):
        _llm_traffic(n_ok=3, n_429=2, tokens_in=100, tokens_out=40)
        metrics.record_http_attempt(
            service="ai_training", method="get", route="/v1/job/6f1c2a9e-0000-4000-8000-000000000001",
            status=None, error_type="ConnectionError", duration_s=1.0, operation="training",
        )  # fmt: skip
        metrics.record_http_attempt(
            service="ai_endpoints", method="POST", route="/v1/embeddings", status=503,
            error_type=None, duration_s=0.2, model="BGE-M3", operation="embeddings",
        )  # fmt: skip
        job = make_job("j-1")
        metrics.record_training_job_finished(job)
        metrics.record_training_job_finished(job)  # re-polled: counted once
    samples = scrape_dir(mp_dir)
    req = "ovhcloud_ai_requests_total"
    assert total(samples, req) == 7
    assert total(samples, req, outcome="success", dag_id="dag_x", task_id="task_y") == 3
    assert total(samples, req, outcome="rate_limited") == 2
    assert total(samples, req, outcome="server_error", route="/v1/embeddings") == 1
    assert total(samples, req, outcome="network_error", route="/v1/job/{id}", method="GET") == 1
    assert total(samples, "ovhcloud_ai_llm_tokens_total", gen_ai_token_type="input") == 300
    assert total(samples, "ovhcloud_ai_llm_tokens_total", gen_ai_token_type="output") == 120
    assert total(samples, "ovhcloud_ai_llm_cost_total", currency="EUR") == pytest.approx(420 * 0.11 / 1e6)
    dur = "gen_ai_client_operation_duration_seconds_count"
    assert total(samples, dur, gen_ai_provider_name="ovhcloud", error_type="") == 3
    assert total(samples, dur, error_type="429") == 2
    assert total(samples, dur, error_type="503", gen_ai_operation_name="embeddings") == 1
    assert total(samples, "gen_ai_client_token_usage_sum", gen_ai_token_type="input") == 300
    assert total(samples, "gen_ai_client_token_usage_count", gen_ai_token_type="output") == 3
    finished = "ovhcloud_ai_training_jobs_finished_total"
    assert total(samples, finished, final_state="DONE", gpu_model="L40s", dag_id="dag_x") == 1
    assert total(samples, "ovhcloud_ai_training_job_duration_seconds_sum") == 125
    assert total(samples, "ovhcloud_ai_training_job_duration_seconds_bucket", le="300.0") == 1
    assert total(samples, "ovhcloud_ai_training_job_queue_duration_seconds_sum") == pytest.approx(30.5)
    assert total(samples, "ovhcloud_ai_training_gpu_seconds_total", gpu_model="L40s") == 250
    # 125 s billed as 3 started minutes x 2 GPUs x 1.8 EUR/GPU-hour
    assert total(samples, "ovhcloud_ai_training_cost_total") == pytest.approx(3 / 60 * 2 * 1.8)
    # last-run gauges (mostrecent) from the task block
    assert total(samples, "ovhcloud_ai_task_last_run_llm_tokens", gen_ai_token_type="input", dag_id="dag_x") == 300
    assert total(samples, "ovhcloud_ai_task_last_run_cost", service="ai_training") == pytest.approx(0.18)
    assert total(samples, "ovhcloud_ai_task_last_success_timestamp_seconds", task_id="task_y") > 1.7e9
    assert not [name for name, _ in samples if name.endswith("_created")]


def test_labels_outside_a_task_are_empty_and_routes_are_templated(mp_dir: Path) -> None:
    metrics.record_http_attempt(
        service="ai_training", method="DELETE", route="/v1/job/0123456789abcdef0123/log?follow=true",
        status=404, error_type=None, duration_s=0.1,
    )  # fmt: skip
    samples = scrape_dir(mp_dir)
    assert total(samples, "ovhcloud_ai_requests_total", dag_id="", task_id="", route="/v1/job/{id}/log") == 1
    assert total(samples, "ovhcloud_ai_requests_total", outcome="client_error") == 1


def test_exact_totals_across_forked_task_processes(mp_dir: Path) -> None:
    delivery.sink()  # built in the parent before forking: children must not inherit it
    metrics.record_http_attempt(
        service="ai_endpoints", method="POST", route="/v1/chat/completions", status=200,
        error_type=None, duration_s=0.05, model=MODEL, operation="chat",
    )  # fmt: skip
    ctx = multiprocessing.get_context("fork")
    n = 12
    for batch in (range(0, 6), range(6, n)):
        procs = [ctx.Process(target=_child_task, args=(i,)) for i in batch]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
            assert proc.exitcode == 0
    samples = scrape_dir(mp_dir)
    expected_ok = 1 + sum(i + 1 for i in range(n))
    expected_429 = sum(i % 2 for i in range(n))
    assert total(samples, "ovhcloud_ai_requests_total", outcome="success") == expected_ok
    assert total(samples, "ovhcloud_ai_requests_total", outcome="rate_limited") == expected_429
    expected_in = sum(10 * (i + 1) * (i + 1) for i in range(n))
    assert total(samples, "ovhcloud_ai_llm_tokens_total", gen_ai_token_type="input") == expected_in
    assert total(samples, "ovhcloud_ai_llm_tokens_total", gen_ai_token_type="input", task_id="task_0") == sum(
        10 * (i + 1) * (i + 1) for i in range(0, n, 3)
    )
    assert total(samples, "ovhcloud_ai_training_jobs_finished_total", dag_id="dag_mp") == n
    assert total(samples, "ovhcloud_ai_training_gpu_seconds_total") == 250 * n
    pids = {p.name.rsplit("_", 1)[1] for p in mp_dir.glob("counter_*.db")}
    assert len(pids) == n + 1, "one counter file per process: parent + each child"


def _report_sink(queue: multiprocessing.queues.Queue) -> None:  # type: ignore[type-arg]
    sink = delivery.sink()
    queue.put((id(sink), os.getpid(), getattr(sink, "mode", None)))


def test_forked_child_rebuilds_its_sink(mp_dir: Path) -> None:
    parent_sink = delivery.sink()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_report_sink, args=(queue,))
    proc.start()
    child_sink_id, child_pid, child_mode = queue.get(timeout=60)
    proc.join(60)
    assert child_pid != os.getpid() and child_mode == "multiprocess"
    assert child_sink_id != id(parent_sink), "the sink inherited through fork() must be dropped in the child"


def test_exact_totals_across_freshly_started_interpreters(mp_dir: Path) -> None:
    code = (
        "from ovhcloud_ai_provider.observability import metrics\n"
        "for _ in range(5):\n"
        "    metrics.record_http_attempt(service='ai_endpoints', method='POST', route='/v1/chat/completions',"
        " status=200, error_type=None, duration_s=0.1, model='gpt-oss-20b', operation='chat')\n"
        "    metrics.record_llm_usage(operation='chat', model='gpt-oss-20b', input_tokens=7, output_tokens=3)\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(mp_dir)}  # auto-on: no metrics_mode configured
    for _ in range(3):
        run_python(code, env)
    samples = scrape_dir(mp_dir)
    assert total(samples, "ovhcloud_ai_requests_total", gen_ai_request_model="gpt-oss-20b") == 15
    assert total(samples, "ovhcloud_ai_llm_tokens_total", gen_ai_request_model="gpt-oss-20b") == 150


def test_multiprocess_works_when_prometheus_client_was_imported_first(tmp_path: Path) -> None:
    directory = tmp_path / "late"
    code = (
        "import os, prometheus_client\n"  # imported before the env var: single-process value class
        f"os.environ['PROMETHEUS_MULTIPROC_DIR'] = {str(directory)!r}\n"
        "from ovhcloud_ai_provider.observability import metrics\n"
        "metrics.record_llm_usage(operation='chat', model='m', input_tokens=5, output_tokens=0)\n"
    )
    run_python(code)
    assert total(scrape_dir(directory), "ovhcloud_ai_llm_tokens_total", gen_ai_request_model="m") == 5


def test_training_job_state_feeds_live_waiting_gauges(mp_dir: Path) -> None:
    queued = make_job("q-1", status={"state": "QUEUED", "history": [{"date": "2026-01-01T00:00:00Z", "state": "QUEUED"}]})
    running = make_job("r-1", status={"state": "RUNNING"})
    with task_observability(fake_context("dag_w", "wait")):
        metrics.record_training_job_state(queued)
        metrics.record_training_job_state(running)
        samples = scrape_dir(mp_dir)
        assert total(samples, "ovhcloud_ai_training_jobs_waiting", state="QUEUED", dag_id="dag_w") == 1
        assert total(samples, "ovhcloud_ai_training_jobs_waiting", state="RUNNING") == 1
        assert total(samples, "ovhcloud_ai_training_job_queued_age_seconds", task_id="wait") > 86400
        metrics.record_training_job_state(make_job("q-1", status={"state": "RUNNING"}))
        samples = scrape_dir(mp_dir)
        assert total(samples, "ovhcloud_ai_training_jobs_waiting", state="QUEUED") == 0
        assert total(samples, "ovhcloud_ai_training_jobs_waiting", state="RUNNING") == 2
        assert total(samples, "ovhcloud_ai_training_job_queued_age_seconds") == 0
        metrics.record_training_job_finished(make_job("r-1", status={"state": "DONE"}))
        assert total(scrape_dir(mp_dir), "ovhcloud_ai_training_jobs_waiting", state="RUNNING") == 1
    # leaving the task forgets whatever it was still waiting on
    assert total(scrape_dir(mp_dir), "ovhcloud_ai_training_jobs_waiting") == 0
    # a trigger passes its task explicitly
    metrics.record_training_job_state(queued, dag_id="dag_t", task_id="trig")
    assert total(scrape_dir(mp_dir), "ovhcloud_ai_training_jobs_waiting", dag_id="dag_t", state="QUEUED") == 1


def test_recording_never_raises_and_warns_once(mp_dir: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            metrics.record_http_attempt(
                service="ai_endpoints", method="POST", route="/x", status=200, error_type=None,
                duration_s="not a number",  # type: ignore[arg-type]
                model=MODEL, operation="chat",
            )  # fmt: skip
            assert metrics.record_llm_usage(operation="chat", model=MODEL, input_tokens="x", output_tokens=1) is None  # type: ignore[arg-type]
            metrics.record_training_job_finished({"status": "weird", "spec": []})  # type: ignore[dict-item]
            metrics.record_training_job_finished(None)  # type: ignore[arg-type]
            metrics.record_training_job_state(None)  # type: ignore[arg-type]
    errors = [e for e in logs if e["event"] == "observability.error"]
    assert errors and len(errors) == len({e["where"] for e in errors}), "one warning per problem"
    assert all(e["log_level"] == "warning" for e in errors)


def test_unusable_configuration_falls_back_to_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVHCLOUD_AI_METRICS_MODE", "statsd")
    with structlog.testing.capture_logs() as logs:
        assert delivery.mode() == "off"
    assert logs[0]["event"] == "observability.error"
    for mode in ("multiprocess", "pushgateway"):
        monkeypatch.setenv("OVHCLOUD_AI_METRICS_MODE", mode)
        delivery.reset()
        assert delivery.mode() == "off"  # no PROMETHEUS_MULTIPROC_DIR / no pushgateway_url


def test_mode_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert delivery.mode() == "multiprocess"  # auto-on
    monkeypatch.setenv("OVHCLOUD_AI_METRICS_MODE", "off")
    delivery.reset()
    assert delivery.mode() == "off"
    monkeypatch.setenv("AIRFLOW__OVHCLOUD_AI__METRICS_MODE", "MultiProcess")  # Airflow's env wins
    delivery.reset()
    assert delivery.mode() == "multiprocess"


def test_airflow_conf_is_read_when_already_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    class Conf:
        def get(self, section: str, key: str, fallback: object = None) -> object:
            return {"metrics_mode": "pushgateway", "pushgateway_url": "127.0.0.1:1"}.get(key, fallback)

    monkeypatch.setitem(sys.modules, "airflow.sdk.configuration", types.SimpleNamespace(conf=Conf()))
    delivery.reset()
    assert delivery.mode() == "pushgateway"


def test_provider_registered_default_does_not_block_auto_multiprocess(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With Airflow loaded, ``conf.get("ovhcloud_ai", "metrics_mode")`` answers the registered default "off"."""
    configuration = pytest.importorskip("airflow.sdk.configuration")
    assert "airflow.sdk.configuration" in sys.modules
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    delivery.reset()
    assert delivery.mode() == "multiprocess"
    monkeypatch.setenv("AIRFLOW__OVHCLOUD_AI__METRICS_MODE", "off")  # an explicit choice still wins
    delivery.reset()
    assert delivery.mode() == "off"
    assert configuration.conf is not None


def test_price_override_changes_recorded_cost(mp_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "prices.json"
    override.write_text('{"models": {"my-model": {"input_per_million": 2.0, "output_per_million": 4.0}}}')
    monkeypatch.setenv("OVHCLOUD_AI_PRICE_CATALOG", str(override))
    delivery.reset()
    pricing.reload()
    assert metrics.record_llm_usage(operation="chat", model="my-model", input_tokens=500_000, output_tokens=250_000) == 2.0
    assert total(scrape_dir(mp_dir), "ovhcloud_ai_llm_cost_total", gen_ai_request_model="my-model") == 2.0
    # unknown model: tokens counted, no cost series
    assert metrics.record_llm_usage(operation="chat", model="mystery", input_tokens=9, output_tokens=1) is None
    samples = scrape_dir(mp_dir)
    assert total(samples, "ovhcloud_ai_llm_tokens_total", gen_ai_request_model="mystery") == 10
    assert not [k for k in samples if ("gen_ai_request_model", "mystery") in k[1] and k[0] == "ovhcloud_ai_llm_cost_total"]


def test_import_is_cheap() -> None:
    code = (
        "import sys\n"
        "import ovhcloud_ai_provider.observability\n"
        "from ovhcloud_ai_provider.observability import metrics, context, delivery, catalog, pricing\n"
        "from ovhcloud_ai_provider.observability import logging as obs_logging\n"
        "metrics.record_http_attempt(service='ai_endpoints', method='POST', route='/v1/chat/completions',"
        " status=200, error_type=None, duration_s=0.1)\n"
        "with context.task_observability({}):\n"
        "    pass\n"
        "heavy = [m for m in ('prometheus_client', 'airflow', 'requests', 'fastapi', 'openlineage') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    run_python(code)
