"""Labels that tie an AI Training job to the task instance that submitted it.

They make submission idempotent: a retry, a worker crash after submit or a re-run of the same try finds
its job by ``labelSelector`` instead of paying for a second one. The identity leaves out the try number on
purpose. A fingerprint of the job spec is part of the selector, so a changed spec is a new job.
They also carry cost attribution (``airflow-dag-id``, ``airflow-task-id``) readable in the OVHcloud UI.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

LABEL_DAG_ID = "airflow-dag-id"
LABEL_TASK_ID = "airflow-task-id"
LABEL_TASK_INSTANCE = "airflow-ti"
LABEL_SPEC = "airflow-spec"
IDENTITY_LABELS = (LABEL_DAG_ID, LABEL_TASK_ID, LABEL_TASK_INSTANCE, LABEL_SPEC)
_INVALID = re.compile(r"[^A-Za-z0-9_.\-]+")
_MAX_LABEL = 63


def sanitize_label_value(value: str) -> str:
    """Fit a value to label rules (<= 63 chars of ``[A-Za-z0-9_.-]``, alphanumeric ends); a hash suffix
    keeps shortened values distinct."""
    clean = _INVALID.sub("-", str(value)).strip("-_.")
    if len(clean) > _MAX_LABEL or clean != str(value):
        digest = hashlib.sha256(str(value).encode()).hexdigest()[:8]
        clean = f"{clean[: _MAX_LABEL - 9].rstrip('-_.')}-{digest}"
    return clean or "none"


def task_instance_key(dag_id: str, task_id: str, run_id: str, map_index: int | None) -> str:
    raw = json.dumps([dag_id, task_id, run_id, -1 if map_index is None else int(map_index)])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def spec_fingerprint(spec: dict[str, Any]) -> str:
    """Stable hash of what the job will run; identity labels are left out, they are not the spec."""
    labels = {k: v for k, v in (spec.get("labels") or {}).items() if k not in IDENTITY_LABELS}
    canonical = json.dumps({**spec, "labels": labels}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def identity_labels(context: Any) -> dict[str, str]:
    """Cost-attribution and task-instance labels from an Airflow context (empty outside a task)."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return {}
    dag_id = str(getattr(ti, "dag_id", "") or "")
    task_id = str(getattr(ti, "task_id", "") or "")
    run_id = str(getattr(ti, "run_id", "") or "")
    map_index = getattr(ti, "map_index", None)
    return {
        LABEL_DAG_ID: sanitize_label_value(dag_id),
        LABEL_TASK_ID: sanitize_label_value(task_id),
        LABEL_TASK_INSTANCE: task_instance_key(dag_id, task_id, run_id, map_index),
    }
