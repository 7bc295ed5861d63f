#!/usr/bin/env python3
"""Metrics benchmarks: exporter scrape time vs. finished task processes, and per-call recording overhead.

Prints numbers, asserts nothing about time. Run: ``.venv/bin/python benchmarks/bench_metrics.py``
(``--quick`` for a smoke run). Takes about a minute on 2 cores.

1. Scrape time after 100, 1,000 and 10,000 finished task processes, without folding (what plain
   ``prometheus_client`` multiprocess mode does: read every file of every dead pid on every scrape) and with
   the exporter's folding (first scrape pays the fold; later scrapes read one archive per file type).
   The first 100 processes are real forked processes; the bulk is simulated in one process by switching
   ``prometheus_client``'s pid function (``values.MultiProcessValue(process_identifier)``) per task, with
   pids above any ``pid_max`` so the exporter sees them as dead. Each simulated task writes only its own
   series, like a real one.
2. Per-call cost of ``record_http_attempt`` / ``record_llm_usage`` with metrics off, in pushgateway mode
   (accumulate only) and in multiprocess mode (mmap writes), side by side.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ovhcloud_ai_provider.observability import delivery, exporter, metrics
from ovhcloud_ai_provider.observability.context import task_observability

FAKE_PID_BASE = 5_000_000  # above the kernel's maximum pid_max (2**22): never alive
MODELS = ("Mistral-7B-Instruct-v0.3", "gpt-oss-120b", "Qwen3-32B")


class TaskDeferred(BaseException):
    """Named like Airflow's deferral exception, which observability treats as 'not finished'."""


def _context(index: int) -> dict[str, Any]:
    from types import SimpleNamespace

    ti = SimpleNamespace(dag_id=f"dag_{index % 5}", task_id=f"task_{index % 4}", run_id=f"run_{index}",
                         try_number=1, map_index=-1, start_date=None)  # fmt: skip
    return {"ti": ti}


def _job(index: int, state: str) -> dict[str, Any]:
    return {
        "id": f"job-{index}",
        "spec": {"resources": {"gpu": 1, "gpuModel": "L40s", "flavor": "l40s-1-gpu"}},
        "status": {"state": state, "duration": 60 + index % 600,
                   "history": [{"date": "2026-01-01T00:00:00Z", "state": "QUEUED"},
                               {"date": "2026-01-01T00:00:20Z", "state": "RUNNING"}]},
    }  # fmt: skip


def simulated_task(index: int) -> None:
    """What one task process records: LLM calls with a retry, or a training job it waited on."""
    model = MODELS[index % len(MODELS)]
    with task_observability(_context(index)):
        for status in (200, 429, 200) if index % 10 == 0 else (200, 200):
            metrics.record_http_attempt(service="ai_endpoints", method="POST", route="/v1/chat/completions",
                                        status=status, error_type=None, duration_s=0.1 + index % 7 * 0.05,
                                        model=model, operation="chat")  # fmt: skip
            if status == 200:
                metrics.record_llm_usage(operation="chat", model=model, input_tokens=200 + index % 50,
                                         output_tokens=40 + index % 20)  # fmt: skip
        if index % 3 == 0:
            metrics.record_training_job_state(_job(index, "RUNNING"))
            metrics.record_http_attempt(service="ai_training", method="GET", route="/v1/job/{id}", status=200,
                                        error_type=None, duration_s=0.05)  # fmt: skip
            metrics.record_training_job_finished(_job(index, "DONE" if index % 9 else "FAILED"))


def _set_mode(directory: str) -> None:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    os.environ["OVHCLOUD_AI_METRICS_MODE"] = "multiprocess"


def _real_task(directory: str, index: int) -> None:
    _set_mode(directory)
    delivery.reset()
    simulated_task(index)
    os._exit(0)


def _bulk_tasks(directory: str, start: int, count: int) -> None:
    """Simulate ``count`` task processes in this one process by switching prometheus_client's pid."""
    from prometheus_client import values

    _set_mode(directory)
    for offset in range(count):
        previous = values.ValueClass
        fake_pid = FAKE_PID_BASE + start + offset
        values.ValueClass = values.MultiProcessValue(lambda pid=fake_pid: pid)  # type: ignore[misc]
        if getattr(previous, "_multiprocess", False):
            previous.close_all_files()  # type: ignore[attr-defined]
        delivery.reset(new_value_class=False)
        simulated_task(start + offset)
    os._exit(0)


def populate(directory: str, n_tasks: int, n_real: int) -> None:
    ctx = multiprocessing.get_context("fork")
    real = min(n_real, n_tasks)
    for batch_start in range(0, real, 10):
        procs = [ctx.Process(target=_real_task, args=(directory, i)) for i in range(batch_start, min(real, batch_start + 10))]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
            assert proc.exitcode == 0
    if n_tasks > real:
        proc = ctx.Process(target=_bulk_tasks, args=(directory, real, n_tasks - real))
        proc.start()
        proc.join()
        assert proc.exitcode == 0


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _requests_total(exposition: bytes) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        s.value
        for fam in text_string_to_metric_families(exposition.decode())
        for s in fam.samples
        if s.name == "ovhcloud_ai_requests_total"
    )


def bench_scrapes(levels: list[int], n_real: int) -> list[dict[str, Any]]:
    rows = []
    for n_tasks in levels:
        directory = tempfile.mkdtemp(prefix=f"bench-mp-{n_tasks}-")
        try:
            gen_s, _ = _timed(functools.partial(populate, directory, n_tasks, n_real))
            files = len(list(Path(directory).glob("*.db")))
            repeats = 3 if n_tasks <= 1000 else 1
            unfolded = []
            for _ in range(repeats):
                elapsed, body = _timed(functools.partial(exporter.render, directory, fold=False))
                unfolded.append(elapsed)
            total_before = _requests_total(body)
            first_fold_s, body = _timed(functools.partial(exporter.render, directory, fold=True))
            total_after = _requests_total(body)
            folded = [_timed(functools.partial(exporter.render, directory, fold=True))[0] for _ in range(3)]
            rows.append({
                "tasks": n_tasks, "files": files, "files_after_fold": len(list(Path(directory).glob("*.db"))),
                "generate_s": gen_s, "unfolded_s": statistics.median(unfolded), "first_fold_scrape_s": first_fold_s,
                "folded_s": statistics.median(folded), "exact": total_before == total_after,
                "requests_total": total_after,
            })  # fmt: skip
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    return rows


def _per_call(fn: Callable[[], Any], calls: int) -> float:
    fn()  # warm: builds the sink, label children, mmap entries
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter_ns() - start) / calls)
    return best


def bench_overhead(calls: int) -> dict[str, dict[str, float]]:
    directory = tempfile.mkdtemp(prefix="bench-overhead-")

    def http() -> None:
        metrics.record_http_attempt(service="ai_endpoints", method="POST", route="/v1/chat/completions", status=200,
                                    error_type=None, duration_s=0.12, model="gpt-oss-120b", operation="chat")  # fmt: skip

    def llm() -> None:
        metrics.record_llm_usage(operation="chat", model="gpt-oss-120b", input_tokens=812, output_tokens=95)

    results: dict[str, dict[str, float]] = {}
    saved = {k: os.environ.get(k) for k in ("PROMETHEUS_MULTIPROC_DIR", "OVHCLOUD_AI_METRICS_MODE", "OVHCLOUD_AI_PUSHGATEWAY_URL")}
    try:
        for mode in ("off", "pushgateway", "multiprocess"):
            for key in saved:
                os.environ.pop(key, None)
            os.environ["OVHCLOUD_AI_METRICS_MODE"] = mode
            if mode == "multiprocess":
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
            if mode == "pushgateway":
                os.environ["OVHCLOUD_AI_PUSHGATEWAY_URL"] = "http://127.0.0.1:9"  # never reached: no flush here
            delivery.reset()
            try:
                with task_observability(_context(1)):
                    results[mode] = {"record_http_attempt": _per_call(http, calls), "record_llm_usage": _per_call(llm, calls)}
                    raise TaskDeferred()  # leave the block without a completion, hence without a push
            except TaskDeferred:
                pass
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        delivery.reset()
        shutil.rmtree(directory, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    levels = [20, 200] if args.quick else [100, 1_000, 10_000]
    calls = 2_000 if args.quick else 20_000
    started = time.perf_counter()

    print(f"== per-call overhead ({calls} calls, best of 3, inside a task scope) ==")
    overhead = bench_overhead(calls)
    off = overhead["off"]
    print(f"{'function':<22}{'off ns':>10}{'pushgw ns':>12}{'multiproc ns':>15}{'mp/off':>9}")
    for fn in ("record_http_attempt", "record_llm_usage"):
        o, p, m = off[fn], overhead["pushgateway"][fn], overhead["multiprocess"][fn]
        print(f"{fn:<22}{o:>10.0f}{p:>12.0f}{m:>15.0f}{m / o:>8.1f}x")

    print(f"\n== exporter scrape time vs finished task processes (first {min(100, levels[0])} real forks) ==")
    rows = bench_scrapes(levels, n_real=100 if not args.quick else 10)
    print(f"{'tasks':>7}{'.db files':>10}{'gen s':>8}{'no-fold scrape s':>18}{'fold+scrape s':>15}"
          f"{'folded scrape s':>17}{'files after':>13}{'speedup':>9}{'exact':>7}")  # fmt: skip
    for r in rows:
        print(f"{r['tasks']:>7}{r['files']:>10}{r['generate_s']:>8.1f}{r['unfolded_s']:>18.4f}"
              f"{r['first_fold_scrape_s']:>15.4f}{r['folded_s']:>17.4f}{r['files_after_fold']:>13}"
              f"{r['unfolded_s'] / r['folded_s']:>8.0f}x{'yes' if r['exact'] else 'NO':>7}")  # fmt: skip
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.1f} s")
    return 0 if all(r["exact"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
