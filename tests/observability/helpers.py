"""Small helpers shared by the observability tests (reading expositions, fake task contexts, jobs)."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CONFIG_ENV_PREFIXES = ("OVHCLOUD_AI_", "AIRFLOW__OVHCLOUD_AI__")
REPO_ROOT = Path(__file__).resolve().parents[2]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_exposition(text: str | bytes) -> Samples:
    """``{(sample name, labels): value}`` from a text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    if isinstance(text, bytes):
        text = text.decode()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def assert_same_totals(left: Samples, right: Samples) -> None:
    """Same series; counts equal exactly, fractional sums (costs) up to float summation order."""
    assert left.keys() == right.keys(), sorted(left.keys() ^ right.keys())[:5]
    for key, value in left.items():
        other = right[key]
        if float(value).is_integer() and float(other).is_integer():
            assert value == other, key
        else:
            assert math.isclose(value, other, rel_tol=1e-12, abs_tol=1e-15), (key, value, other)


def scrape_dir(directory: str | Path, *, fold: bool = False) -> Samples:
    from ovhcloud_ai_provider.observability import exporter

    return parse_exposition(exporter.render(str(directory), fold=fold))


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of every sample named ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items() if sample == name and wanted <= sample_labels)


def fake_context(dag_id: str = "dag_a", task_id: str = "task_a", **ti_fields: Any) -> dict[str, Any]:
    """An Airflow-like context: the fields ``task_observability`` reads from ``context["ti"]``."""
    ti = SimpleNamespace(
        dag_id=dag_id,
        task_id=task_id,
        run_id=ti_fields.pop("run_id", "manual__2026-01-01T00:00:00+00:00"),
        try_number=ti_fields.pop("try_number", 1),
        map_index=ti_fields.pop("map_index", -1),
        start_date=ti_fields.pop("start_date", None),
        **ti_fields,
    )
    return {"ti": ti, "run_id": ti.run_id}


_JOB: dict[str, Any] = {
    "id": "6f1c2a9e-0000-4000-8000-000000000001",
    "createdAt": "2026-01-01T00:00:00.000000Z",
    "spec": {"image": "ovhcom/ai-training-pytorch", "resources": {"gpu": 2, "gpuModel": "L40s", "flavor": "l40s-1-gpu"}},
    "status": {
        "state": "DONE",
        "duration": 125,
        "queuedAt": "2026-01-01T00:00:00.000000Z",
        "startedAt": "2026-01-01T00:00:30.500000Z",
        "history": [
            {"date": "2026-01-01T00:00:00.000000Z", "state": "QUEUED"},
            {"date": "2026-01-01T00:00:10Z", "state": "INITIALIZING"},
            {"date": "2026-01-01T00:00:30.500000Z", "state": "RUNNING"},
            {"date": "2026-01-01T00:02:35.500000Z", "state": "FINALIZING"},
            {"date": "2026-01-01T00:02:40Z", "state": "DONE"},
        ],
    },
}


def make_job(job_id: str = "job-1", **overrides: Any) -> dict[str, Any]:
    """An AI Training ``Job`` dict (ovh-api.md 1.4) with ``spec.resources``/``status`` overrides merged in."""
    job = copy.deepcopy(_JOB)
    job["id"] = job_id
    for section in ("spec", "status"):
        if section in overrides:
            job[section].update(overrides.pop(section))
    if "resources" in overrides:
        job["spec"]["resources"] = overrides.pop("resources")
    job.update(overrides)
    return job


def run_python(code: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this venv (a real, separately started process)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_ENV_PREFIXES)}
    child_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    child_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-c", code], env=child_env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
