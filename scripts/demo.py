"""`make demo`: the example DAGs through real Airflow against the embedded OVHcloud emulator.

What it does, all under ``.demo/`` (wiped at each run):
1. starts the emulator (a real HTTP server) on a free loopback port;
2. migrates a throw-away SQLite Airflow metadata DB;
3. runs ``airflow dags test`` on the training and the LLM example DAGs, with metrics in multiprocess mode
   and OpenLineage events written to a file;
4. prints what happened: task states, the training job, token usage and estimated cost as Prometheus would
   count them next to the emulator's own accounting, and where to look next.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from ovhcloud_ai_provider.testing.dag_runner import AirflowSandbox, emulator_connections

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / ".demo"
DAGS = ["ovhcloud_ai_training_pipeline", "ovhcloud_ai_llm_pipeline"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ovhcloud_ai_provider.testing.emulator", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/health", timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the emulator did not start; see {log_path}")


def metric_totals(directory: Path) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Fold the multiprocess files the way the exporter does and index samples by name and labels."""
    from ovhcloud_ai_provider.observability.exporter import build_registry

    totals: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in build_registry(str(directory)).collect():
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            totals.setdefault(sample.name, {})[key] = totals.get(sample.name, {}).get(key, 0.0) + sample.value
    return totals


def summed(totals: dict[str, dict[Any, float]], name: str, by: str | None = None) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, value in totals.get(name, {}).items():
        key = dict(labels).get(by, "") if by else "all"
        out[key] = out.get(key, 0.0) + value
    return out


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    for sub in ("metrics", "logs"):
        (WORK / sub).mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"==> OVHcloud emulator on {url}")
    emulator = start_emulator(port, WORK / "logs" / "emulator.log")
    try:
        sandbox = AirflowSandbox(
            WORK / "airflow",
            REPO / "examples",
            env={
                "AIRFLOW__OPENLINEAGE__NAMESPACE": "ovhcloud_ai_demo",
                "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                    {"type": "file", "log_file_path": str(WORK / "lineage-events.jsonl"), "append": True}
                ),
                "PROMETHEUS_MULTIPROC_DIR": str(WORK / "metrics"),
                "OVHCLOUD_AI_METRICS_MODE": "multiprocess",
                "OVHAI_EXAMPLE_CHECK_INTERVAL": "1",
                **emulator_connections(url),
            },
        )
        print("==> airflow db migrate (SQLite in .demo/airflow)")
        sandbox.migrate()
        results = []
        for dag_id in DAGS:
            print(f"==> airflow dags test {dag_id}")
            result = sandbox.dags_test(dag_id)
            results.append(result)
            print(f"    {result.state} in {result.seconds:.1f}s (log: {result.log_path.relative_to(REPO)})")
        with urllib.request.urlopen(f"{url}/_emulator/accounting", timeout=5) as response:
            truth = json.load(response)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)

    totals = metric_totals(WORK / "metrics")
    tokens = summed(totals, "ovhcloud_ai_llm_tokens_total", "gen_ai_request_model")
    cost = summed(totals, "ovhcloud_ai_llm_cost_total", "gen_ai_request_model")
    requests = summed(totals, "ovhcloud_ai_requests_total", "outcome")
    jobs = summed(totals, "ovhcloud_ai_training_jobs_finished_total", "final_state")
    gpu_seconds = summed(totals, "ovhcloud_ai_training_gpu_seconds_total").get("all", 0.0)
    training_cost = summed(totals, "ovhcloud_ai_training_cost_total").get("all", 0.0)
    lineage_file = WORK / "lineage-events.jsonl"
    lineage_events = len(lineage_file.read_text().splitlines()) if lineage_file.exists() else 0

    print("\n==> Usage and cost (Prometheus counters, from the multiprocess files)")
    for model, count in sorted(tokens.items()):
        truth_tokens = truth["tokens"].get(model, {}).get("total")
        print(f"    {model:<28} {int(count):>7} tokens  ~{cost.get(model, 0.0):.6f} EUR   (emulator counted {truth_tokens})")
    print(f"    requests by outcome: {dict(sorted((k, int(v)) for k, v in requests.items()))}"
          f"   (emulator received {truth['requests']['total']})")
    print(f"    training jobs finished: {dict((k, int(v)) for k, v in jobs.items())}"
          f"   GPU-seconds: {gpu_seconds:.1f}   ~{training_cost:.4f} EUR")
    print(f"    emulator: {truth['jobs']['created']} job(s) created, {truth['jobs'].get('killed', 0)} killed")
    print(f"    OpenLineage events written: {lineage_events}")
    print("\n==> Where to look")
    print("    metrics:   .venv/bin/ovhcloud-ai-metrics-exporter --dir .demo/metrics --port 9464  (then scrape :9464/metrics)")
    print("    dashboards and alerts: grafana/dashboards/*.json, grafana/alerts/ovhcloud-ai-alerts.yaml")
    print("    lineage:   .demo/lineage-events.jsonl (point AIRFLOW__OPENLINEAGE__TRANSPORT at Marquez, see lineage/README.md)")
    print("    task logs: .demo/airflow/logs/*.log (structured events: llm.request.completed, training_job.state_changed, ...)")
    failed = [result.dag_id for result in results if result.state != "success"]
    if failed:
        print(f"\nFAILED: {failed}")
        return 1
    print("\nAll example DAGs succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
