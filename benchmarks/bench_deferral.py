"""Worker time held by a training wait: synchronous polling vs. deferral to the triggerer.

Runs 60-second emulator jobs through ``OVHCloudAITrainingSubmitJobOperator(wait_for_completion=True)`` on
both paths at once (one thread per job, so the whole run takes about 70 s):

- sync: ``execute()`` submits and polls until the job is DONE; the task holds a worker slot throughout;
- deferrable: ``execute()`` submits and raises ``TaskDeferred``; the trigger (rebuilt from its
  serialized form, as the triggerer would) runs on its own event loop; its event resumes a *fresh*
  operator instance through ``execute_complete``. Worker time = ``execute()`` + ``execute_complete()``.

Job duration is the job's own, read from its final status: ``queuedAt`` -> ``finalizedAt`` (wall time on
the platform) and ``status.duration`` (seconds in RUNNING).

Run: ``.venv/bin/python benchmarks/bench_deferral.py`` (about 70 s, light on CPU).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import statistics
import sys
import threading
import time
from datetime import datetime
from typing import Any

JOBS_PER_PATH = 2
RUN_SECONDS = 60
CHECK_INTERVAL = 2
WAIT_TIMEOUT = 600


class BenchTI:
    """Just enough of a task instance for the operator: identity fields and an XCom sink."""

    def __init__(self, dag_id: str, task_id: str, run_id: str) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.map_index = -1
        self.try_number = 1
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def quiet_logs() -> None:
    """The benchmark's own output only: task and job log lines would bury the table."""
    import airflow.sdk  # noqa: F401  (Airflow configures structlog on import: filter after it)
    import structlog

    import ovhcloud_ai_provider.operators.ai_training  # noqa: F401

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    logging.getLogger().setLevel(logging.ERROR)
    for name in ("airflow", "ovhcloud_ai_provider", "uvicorn", "uvicorn.access", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.ERROR)


def make_operator(task_id: str, deferrable: bool) -> Any:
    from ovhcloud_ai_provider.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

    return OVHCloudAITrainingSubmitJobOperator(
        task_id=task_id,
        image="ovhcom/ai-training-pytorch:2.4.0",
        flavor="l4-1-gpu",
        gpu=1,
        labels={"emulator-run-seconds": str(RUN_SECONDS)},
        wait_for_completion=True,
        check_interval=CHECK_INTERVAL,
        wait_timeout=WAIT_TIMEOUT,
        deferrable=deferrable,
    )


def rebuild_trigger(trigger: Any) -> Any:
    """What the triggerer does: import the serialized class path and instantiate it with its kwargs."""
    classpath, kwargs = trigger.serialize()
    module_name, _, class_name = classpath.rpartition(".")
    # Round-trip the kwargs through JSON, as they would be stored in the metadata DB.
    return getattr(importlib.import_module(module_name), class_name)(**json.loads(json.dumps(kwargs)))


async def first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise RuntimeError("the trigger ended without an event")


def run_sync(index: int) -> dict[str, Any]:
    task_id = f"bench_sync_{index}"
    context = {"ti": BenchTI("bench_deferral", task_id, f"bench__sync_{index}_{time.time_ns()}")}
    operator = make_operator(task_id, deferrable=False)
    started = time.monotonic()
    job = operator.execute(context)
    worker = time.monotonic() - started
    return {"path": "sync", "job": job, "worker_s": worker, "trigger_s": 0.0}


def run_deferrable(index: int) -> dict[str, Any]:
    from airflow.providers.common.compat.sdk import TaskDeferred

    task_id = f"bench_deferrable_{index}"
    context = {"ti": BenchTI("bench_deferral", task_id, f"bench__deferrable_{index}_{time.time_ns()}")}
    started = time.monotonic()
    try:
        make_operator(task_id, deferrable=True).execute(context)
    except TaskDeferred as deferred:
        before_defer = time.monotonic() - started
        trigger, method_name = deferred.trigger, deferred.method_name
    else:
        raise RuntimeError("the deferrable operator did not defer")

    trigger_started = time.monotonic()
    event = asyncio.run(first_event(rebuild_trigger(trigger)))
    trigger_s = time.monotonic() - trigger_started

    resumed = make_operator(task_id, deferrable=True)  # Airflow resumes on a fresh instance
    started = time.monotonic()
    job = getattr(resumed, method_name)(context, event)
    after_resume = time.monotonic() - started
    return {
        "path": "deferrable",
        "job": job,
        "worker_s": before_defer + after_resume,
        "trigger_s": trigger_s,
        "event": event.get("status"),
    }


def iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def job_seconds(job: dict[str, Any]) -> tuple[float, float]:
    """(queuedAt -> finalizedAt, seconds in RUNNING) from the job's final status."""
    status = job.get("status") or {}
    start = iso(status.get("queuedAt")) or iso(job.get("createdAt"))
    end = iso(status.get("finalizedAt")) or iso(status.get("lastTransitionDate"))
    total = (end - start).total_seconds() if start and end else float("nan")
    return total, float(status.get("duration") or 0)


def main() -> int:
    quiet_logs()
    from ovhcloud_ai_provider.testing import OVHEmulator

    emulator = OVHEmulator(port=0, time_scale=1.0)
    emulator.start()
    previous_conn = os.environ.get("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT")
    os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"] = json.dumps(
        {
            "conn_type": "ovhcloud_ai_training",
            "host": emulator.url,
            "login": emulator.config.region,
            "password": emulator.config.training_tokens[0],
        }
    )
    results: list[dict[str, Any]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(fn: Any, index: int) -> None:
        try:
            result = fn(index)
        except BaseException as exc:
            with lock:
                errors.append(f"{fn.__name__}[{index}]: {type(exc).__name__}: {exc}")
            return
        with lock:
            results.append(result)

    try:
        print(
            f"bench_deferral: {JOBS_PER_PATH} jobs per path, {RUN_SECONDS} s RUNNING each, "
            f"check_interval={CHECK_INTERVAL} s, emulator {emulator.url} (time_scale 1.0)",
            flush=True,
        )
        wall = time.monotonic()
        threads = [
            threading.Thread(target=worker, args=(fn, i), name=f"{fn.__name__}-{i}")
            for i in range(JOBS_PER_PATH)
            for fn in (run_sync, run_deferrable)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_TIMEOUT + 60)
        wall = time.monotonic() - wall
        if errors or len(results) != len(threads):
            for line in errors:
                print(f"ERROR {line}", file=sys.stderr)
            print(f"ERROR: {len(results)}/{len(threads)} jobs finished", file=sys.stderr)
            return 1

        print()
        header = f"{'path':<11} {'job id':<10} {'state':<6} {'job s':>7} {'running s':>9} {'worker s':>9} {'worker/job':>10} {'trigger s':>9}"
        print(header)
        print("-" * len(header))
        ratios: dict[str, list[float]] = {"sync": [], "deferrable": []}
        workers: dict[str, list[float]] = {"sync": [], "deferrable": []}
        for result in sorted(results, key=lambda r: (r["path"] != "sync", r["job"]["id"])):
            job = result["job"]
            total, running = job_seconds(job)
            ratio = result["worker_s"] / total
            ratios[result["path"]].append(ratio)
            workers[result["path"]].append(result["worker_s"])
            state = (job.get("status") or {}).get("state")
            trigger = f"{result['trigger_s']:9.2f}" if result["path"] == "deferrable" else f"{'-':>9}"
            print(
                f"{result['path']:<11} {job['id'][:8]:<10} {state:<6} {total:7.2f} {running:9.0f} "
                f"{result['worker_s']:9.3f} {ratio:10.4f} {trigger}"
            )
        sync_mean = statistics.mean(workers["sync"])
        deferrable_mean = statistics.mean(workers["deferrable"])
        print()
        print(f"mean worker-seconds  sync: {sync_mean:8.3f} s   (worker/job {statistics.mean(ratios['sync']):.4f})")
        print(
            f"mean worker-seconds  deferrable: {deferrable_mean:8.3f} s   "
            f"(worker/job {statistics.mean(ratios['deferrable']):.4f})"
        )
        print(
            f"sync / deferrable worker-seconds: {sync_mean / deferrable_mean:,.0f}x "
            f"(deferrable uses {100 * deferrable_mean / sync_mean:.3f} % of the sync worker time)"
        )
        acc = emulator.accounting()["jobs"]
        print(f"emulator: {acc['created']} jobs created, final states {acc['by_final_state']}; wall {wall:.1f} s")
        if acc["created"] != len(threads):
            print("ERROR: unexpected number of jobs created", file=sys.stderr)
            return 1
        return 0
    finally:
        if previous_conn is None:
            os.environ.pop("AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT", None)
        else:
            os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"] = previous_conn
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
