"""The per-host exporter: exact totals before/after folding, bounded directory, crash safety, promtool."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ovhcloud_ai_provider.observability import exporter, metrics
from ovhcloud_ai_provider.observability.context import task_observability

from .helpers import Samples, assert_same_totals, fake_context, make_job, parse_exposition, scrape_dir, total
from .stack import http_get, require_binary, start_exporter

LIVE_FAMILIES = ("ovhcloud_ai_training_jobs_waiting", "ovhcloud_ai_training_job_queued_age_seconds")


def _task(index: int) -> None:
    """One simulated task process: every kind of metric file (counter, histogram, mostrecent + live gauges)."""
    with task_observability(fake_context("dag_fold", f"t{index % 4}")):
        for attempt in range(index % 5 + 1):
            metrics.record_http_attempt(
                service="ai_endpoints", method="POST", route="/v1/chat/completions",
                status=429 if attempt % 3 == 2 else 200, error_type=None, duration_s=0.01 * (index + 1),
                model="gpt-oss-120b", operation="chat",
            )  # fmt: skip
            metrics.record_llm_usage(operation="chat", model="gpt-oss-120b", input_tokens=index + 7, output_tokens=3)
        metrics.record_training_job_state(make_job(f"w-{index}", status={"state": "QUEUED"}))
        metrics.record_training_job_finished(make_job(f"f-{index}", status={"duration": 10 * index}))
        # leave a job waiting on purpose: a killed process would leave its live gauge behind
        metrics.record_training_job_state(make_job(f"left-{index}", status={"state": "RUNNING"}))
        os._exit(0)  # die without leaving the block: as a killed task would


def run_tasks(indexes: range) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_task, args=(i,)) for i in indexes]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0


def without_live(samples: Samples) -> Samples:
    return {k: v for k, v in samples.items() if not k[0].startswith(LIVE_FAMILIES)}


def db_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.db"))


def test_fold_keeps_totals_exact_and_drops_dead_live_gauges(mp_dir: Path) -> None:
    run_tasks(range(0, 16))
    before = scrape_dir(mp_dir, fold=False)
    assert total(before, "ovhcloud_ai_training_jobs_waiting", state="RUNNING") == 16  # dead pids still counted
    files_before = len(db_files(mp_dir))
    folded = exporter.fold_dead_processes(str(mp_dir))
    assert folded == files_before
    after = scrape_dir(mp_dir, fold=False)
    assert_same_totals(without_live(after), without_live(before))
    assert total(after, "ovhcloud_ai_training_jobs_waiting") == 0, "dead processes wait on nothing"
    assert total(after, "ovhcloud_ai_requests_total") == sum(i % 5 + 1 for i in range(16))
    assert total(after, "ovhcloud_ai_task_last_run_llm_tokens", task_id="t0") == 0  # blocks never exited
    assert exporter.fold_dead_processes(str(mp_dir)) == 0  # idempotent
    assert_same_totals(scrape_dir(mp_dir, fold=False), after)


def test_directory_stays_bounded_over_many_rounds(mp_dir: Path) -> None:
    counts = []
    expected = 0.0
    for round_ in range(4):
        indexes = range(round_ * 10, round_ * 10 + 10)
        run_tasks(indexes)
        expected += sum(i % 5 + 1 for i in indexes)
        samples = scrape_dir(mp_dir, fold=True)  # what a scrape does
        assert total(samples, "ovhcloud_ai_requests_total") == expected
        counts.append(len(db_files(mp_dir)))
    assert counts == [counts[0]] * 4, counts
    assert all(name.split("_")[-1].startswith("archive-") for name in db_files(mp_dir))
    assert not (mp_dir / ".fold").exists() or not any((mp_dir / ".fold").iterdir())


def test_live_process_files_are_not_folded(mp_dir: Path) -> None:
    metrics.record_llm_usage(operation="chat", model="gpt-oss-20b", input_tokens=5, output_tokens=1)  # this pid
    metrics.record_training_job_state(make_job("mine", status={"state": "QUEUED"}))
    run_tasks(range(3))
    exporter.fold_dead_processes(str(mp_dir))
    mine = [n for n in db_files(mp_dir) if n.endswith(f"_{os.getpid()}.db")]
    assert {"counter", "histogram", "gauge_livesum"} <= {n.rsplit("_", 1)[0] for n in mine}
    samples = scrape_dir(mp_dir)
    assert total(samples, "ovhcloud_ai_training_jobs_waiting", state="QUEUED") == 1
    metrics.record_llm_usage(operation="chat", model="gpt-oss-20b", input_tokens=5, output_tokens=1)
    assert total(scrape_dir(mp_dir, fold=True), "ovhcloud_ai_llm_tokens_total", gen_ai_request_model="gpt-oss-20b") == 12


def test_interrupted_fold_before_commit_is_rolled_back(mp_dir: Path) -> None:
    run_tasks(range(5))
    truth = without_live(scrape_dir(mp_dir))
    # state right after a crash in the middle of staging: some dead files moved, no new archive
    stage = mp_dir / ".fold" / "counter-1"
    stage.mkdir(parents=True)
    for path in list(mp_dir.glob("counter_*.db"))[:3]:
        path.rename(stage / path.name)
    exporter.fold_dead_processes(str(mp_dir))
    assert_same_totals(without_live(scrape_dir(mp_dir)), truth)


def test_interrupted_fold_after_commit_is_completed(mp_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_tasks(range(4))
    exporter.fold_dead_processes(str(mp_dir))  # archive generation 1
    run_tasks(range(4, 9))
    truth = without_live(scrape_dir(mp_dir))

    class Crash(Exception):
        pass

    real_remove = os.remove

    def crash_on_old_archive(path: str | os.PathLike[str]) -> None:
        if str(path).endswith("archive-1.db"):
            raise Crash()
        real_remove(path)

    monkeypatch.setattr(os, "remove", crash_on_old_archive)
    with pytest.raises(Crash):
        exporter.fold_dead_processes(str(mp_dir))
    monkeypatch.setattr(os, "remove", real_remove)
    assert any(n.endswith("archive-1.db") for n in db_files(mp_dir))  # both generations on disk now
    exporter.fold_dead_processes(str(mp_dir))  # recovery: the newer archive wins, staged files dropped
    assert_same_totals(without_live(scrape_dir(mp_dir)), truth)
    assert not any(n.endswith("archive-1.db") for n in db_files(mp_dir))


def test_corrupt_dead_file_is_quarantined_not_fatal(mp_dir: Path) -> None:
    run_tasks(range(2))
    bad = mp_dir / "counter_4000000.db"  # a pid above any pid_max: never alive
    bad.write_bytes(b"\xff\xff\x00\x00" + b"\x00" * 60)
    exporter.fold_dead_processes(str(mp_dir))
    assert not bad.exists() and (mp_dir / ".fold" / "corrupt" / bad.name).exists()
    assert total(scrape_dir(mp_dir), "ovhcloud_ai_requests_total") == 1 + 2


@pytest.mark.stack
def test_promtool_check_metrics_is_clean(mp_dir: Path) -> None:
    promtool = require_binary("promtool")
    run_tasks(range(6))
    with task_observability(fake_context("dag_ok", "ok")):
        metrics.record_llm_usage(operation="embeddings", model="BGE-M3", input_tokens=50, output_tokens=0)
    for fold in (False, True):
        exposition = exporter.render(str(mp_dir), fold=fold)
        assert b"_created" not in exposition
        result = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60)
        assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
        assert result.stdout.strip() == b"" and result.stderr.strip() == b""


def test_console_script_serves_metrics_over_http(mp_dir: Path) -> None:
    run_tasks(range(3))
    expected = scrape_dir(mp_dir)
    with start_exporter(mp_dir) as server:
        status, body = http_get(server.url + "/metrics")
        assert status == 200
        assert_same_totals(without_live(parse_exposition(body)), without_live(expected))
        assert server.process.poll() is None
    assert server.process.returncode == 0  # SIGTERM handled: clean exit


def test_main_once_and_missing_dir(mp_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_tasks(range(1))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert exporter.main([]) == 2
    script = Path(sys.executable).with_name("ovhcloud-ai-metrics-exporter")
    assert script.exists(), "console script declared in pyproject.toml"
    result = subprocess.run(
        [str(script), "--dir", str(mp_dir), "--once"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert total(parse_exposition(result.stdout), "ovhcloud_ai_requests_total") == 1
