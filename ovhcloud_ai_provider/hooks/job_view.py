"""What of a Job may leave the provider (XCom, trigger events, lineage): the Job without secret values."""

from __future__ import annotations

import copy
from typing import Any

REDACTED = "***"


def redact_job(job: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``job`` whose ``spec.envVars`` values are replaced: env values are often secrets."""
    clean = copy.deepcopy(job)
    spec = clean.get("spec")
    if isinstance(spec, dict):
        spec["envVars"] = [
            {"name": env.get("name"), "value": REDACTED} for env in spec.get("envVars") or [] if isinstance(env, dict)
        ]
        if not spec["envVars"]:
            spec.pop("envVars")
    return clean


def job_state(job: dict[str, Any] | None) -> str:
    return str(((job or {}).get("status") or {}).get("state") or "")
