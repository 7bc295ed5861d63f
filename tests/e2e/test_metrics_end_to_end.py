"""The example DAGs through real Airflow, their metrics through the real delivery path into a real Prometheus,
compared with what the emulator itself counted.

Multiprocess mode: each task process writes its own files, ``ovhcloud-ai-metrics-exporter`` folds them and
Prometheus scrapes it. Pushgateway mode: each task PUTs last-run gauges to a real Pushgateway.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ovhcloud_ai_provider.testing import OVHEmulator
from ovhcloud_ai_provider.testing.dag_runner import AirflowSandbox, emulator_connections
from tests.observability.dashboards import ALERT_FILE
from tests.observability.stack import (
    http_get,
    require_binary,
    start_exporter,
    start_prometheus,
    start_pushgateway,
)
from tests.observability.test_dashboards_live import assert_alert_rules_evaluate, assert_panels_and_variables

pytestmark = pytest.mark.stack

REPO = Path(__file__).resolve().parents[2]
TRAINING_TOKEN = "e2e-training-T0K3N-a81f"
ENDPOINTS_TOKEN = "e2e-endpoints-K3Y-b92e"
EXAMPLE_ENV_SECRET = "demo-wandb-secret-0123456789"  # the example DAG's WANDB_API_KEY default
CHAT, EMBED = "Mistral-7B-Instruct-v0.3", "bge-multilingual-gemma2"


def value(prom, expr: str) -> float:
    result = prom.query(expr)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def by_label(prom, expr: str, label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in prom.query(expr)}


def sandbox(tmp_path: Path, emu: OVHEmulator, **env: str) -> AirflowSandbox:
    dags = tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    for name, target in (("examples", REPO / "examples"), ("test_dags", REPO / "tests" / "dags")):
        if not (dags / name).exists():
            (dags / name).symlink_to(target, target_is_directory=True)
    return AirflowSandbox(
        tmp_path / "airflow",
        dags,
        env={
            "AIRFLOW__OPENLINEAGE__DISABLED": "true",
            "OVHAI_EXAMPLE_CHECK_INTERVAL": "1",
            **emulator_connections(emu.url, training_token=TRAINING_TOKEN, endpoints_token=ENDPOINTS_TOKEN),
            **env,
        },
    )


def assert_no_secret(*texts: str) -> None:
    for secret in (TRAINING_TOKEN, ENDPOINTS_TOKEN, EXAMPLE_ENV_SECRET):
        for text in texts:
            assert secret not in text, f"{secret[:8]}... leaked"


def test_multiprocess_totals_equal_the_emulators_accounting(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    multiproc = tmp_path / "multiproc"
    multiproc.mkdir()
    emu_tokens = {"training_tokens": (TRAINING_TOKEN,), "endpoints_tokens": (ENDPOINTS_TOKEN,)}
    with OVHEmulator(**emu_tokens) as emu, start_exporter(multiproc) as exporter:
        targets = {"ovhcloud-ai-exporter": [exporter.address]}
        with start_prometheus(tmp_path, targets=targets, rule_files=[ALERT_FILE]) as prom:
            airflow = sandbox(
                tmp_path, emu, PROMETHEUS_MULTIPROC_DIR=str(multiproc), OVHCLOUD_AI_METRICS_MODE="multiprocess"
            )
            # Each DAG runs twice, the second time after Prometheus scraped the first: histogram panels
            # (rate() over buckets) need increases, not series born at their final value.
            logs: list[str] = []
            for round_ in (1, 2):
                training = airflow.dags_test("ovhcloud_ai_training_pipeline", log_name=f"training-{round_}")
                assert training.state == "success", training.log[-3000:]
                prom.wait_for(f"sum(ovhcloud_ai_training_jobs_finished_total) == {round_}", deadline_s=60)
                if round_ == 2:
                    # Two 429s the client retries: they must show up as requests, as the API received them.
                    emu.faults.fail_next(2, status=429, path_prefix="/v1/chat/completions", headers={"Retry-After": "0"})
                llm = airflow.dags_test("ovhcloud_ai_llm_pipeline", log_name=f"llm-{round_}")
                assert llm.state == "success", llm.log[-3000:]
                prom.wait_for(f"sum(ovhcloud_ai_requests_total) == {emu.accounting()['requests']['total']}", deadline_s=60)
                logs += [training.log, llm.log]

            truth = emu.accounting()
            prom.wait_for(f"sum(ovhcloud_ai_requests_total) == {truth['requests']['total']}", deadline_s=60)
            assert value(prom, 'sum(ovhcloud_ai_requests_total{outcome="rate_limited"})') == 2
            assert truth["requests"]["by_route"]["POST /v1/chat/completions"]["429"] == 2
            for model in (CHAT, EMBED):
                tokens = by_label(
                    prom,
                    f'sum by (gen_ai_token_type) (ovhcloud_ai_llm_tokens_total{{gen_ai_request_model="{model}"}})',
                    "gen_ai_token_type",
                )
                assert tokens.get("input", 0) == truth["tokens"][model]["prompt"]
                assert tokens.get("output", 0) == truth["tokens"][model]["completion"]
                assert value(prom, f'sum(gen_ai_client_token_usage_sum{{gen_ai_request_model="{model}"}})') == truth[
                    "tokens"
                ][model]["total"]
            finished = by_label(prom, "sum by (final_state) (ovhcloud_ai_training_jobs_finished_total)", "final_state")
            assert finished == {k: float(v) for k, v in truth["jobs"]["by_final_state"].items()}
            assert truth["jobs"]["created"] == 2
            assert value(prom, "sum(ovhcloud_ai_training_gpu_seconds_total)") > 0
            assert value(prom, 'sum(ovhcloud_ai_llm_cost_total{currency="EUR"})') > 0

            # A task now waits on a job stuck in QUEUED: what the "waiting" panels and the stuck-job alert watch.
            waiting = airflow.start_dags_test("ovhai_test_submit_sync", run_conf={"scenario": "long_queue"}, log_name="waiting")
            try:
                prom.wait_for('sum(ovhcloud_ai_training_jobs_waiting{state="QUEUED"}) == 1', deadline_s=90)
                # Every dashboard panel and alert rule answers with finite data from this run.
                assert_panels_and_variables(prom)
                assert_alert_rules_evaluate(prom)
            finally:
                waiting.terminate()
                waiting.wait(timeout=60)
            assert emu.accounting()["jobs"]["killed"] == 1  # SIGTERM -> on_kill stopped the queued job

            status, exposition = http_get(exporter.url + "/metrics")
            assert status == 200
            lint = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
            assert lint.returncode == 0, lint.stdout + lint.stderr
            labels = prom.query('{__name__=~"ovhcloud_ai_.+|gen_ai_.+"}')
            assert_no_secret(exposition.decode(), str(labels), *logs)
            assert "llm.request.completed" in logs[1] and "training_job.state_changed" in logs[0]


def test_pushgateway_last_run_gauges(tmp_path: Path) -> None:
    emulator = OVHEmulator(training_tokens=(TRAINING_TOKEN,), endpoints_tokens=(ENDPOINTS_TOKEN,))
    with emulator as emu, start_pushgateway(tmp_path) as pgw:  # noqa: SIM117 - prometheus needs pgw's address
        with start_prometheus(tmp_path, targets={"pushgateway": [pgw.address]}) as prom:
            airflow = sandbox(tmp_path, emu, OVHCLOUD_AI_METRICS_MODE="pushgateway", OVHCLOUD_AI_PUSHGATEWAY_URL=pgw.url)
            llm = airflow.dags_test("ovhcloud_ai_llm_pipeline")
            assert llm.state == "success", llm.log[-3000:]
            truth = emu.accounting()
            embed = 'ovhcloud_ai_task_last_run_llm_tokens{dag_id="ovhcloud_ai_llm_pipeline",task_id="embed_documents"}'
            prom.wait_for(f"sum({embed}) == {truth['tokens'][EMBED]['total']}", deadline_s=60)
            # Mapped instances share one {dag_id, task_id} group: the gauge holds the last instance's tokens.
            chat = by_label(
                prom,
                'ovhcloud_ai_task_last_run_llm_tokens{task_id="answer_question"}',
                "gen_ai_token_type",
            )
            assert 0 < chat["input"] < truth["tokens"][CHAT]["prompt"]
            success = by_label(prom, "ovhcloud_ai_task_last_success_timestamp_seconds", "task_id")
            assert set(success) == {"answer_question", "embed_documents"}
            # No counters through the Pushgateway (they would be wrong).
            status, body = http_get(pgw.url + "/metrics")
            assert status == 200 and b"ovhcloud_ai_requests_total" not in body
            assert_no_secret(body.decode(), llm.log)

            # A second run replaces each group (PUT): still one series per task, with the new values.
            first = value(prom, "max(ovhcloud_ai_task_last_success_timestamp_seconds{task_id='embed_documents'})")
            again = airflow.dags_test("ovhcloud_ai_llm_pipeline")
            assert again.state == "success"
            prom.wait_for(
                f"max(ovhcloud_ai_task_last_success_timestamp_seconds{{task_id='embed_documents'}}) > {first}", deadline_s=60
            )
            assert value(prom, "count(ovhcloud_ai_task_last_success_timestamp_seconds{task_id='embed_documents'})") == 1
