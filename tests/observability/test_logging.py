"""Logging helpers: never configure logging, mask secrets, opt-in prompts, stable event names."""

from __future__ import annotations

import ast
import re

import pytest
import structlog

from ovhcloud_ai_provider.observability import logging as obs_logging

from .helpers import REPO_ROOT, run_python

PACKAGE = REPO_ROOT / "ovhcloud_ai_provider" / "observability"


FORBIDDEN_CALLS = {
    "configure", "configure_once", "basicConfig", "addHandler", "dictConfig", "fileConfig", "reset_defaults",
    "configure_logging", "setLevel", "wrap_logger",
}  # fmt: skip


def test_package_never_configures_logging() -> None:
    """No call (docstrings may explain why) that would replace Airflow's logging/masking chain."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in FORBIDDEN_CALLS:
                    offenders.append(f"{path.name}:{node.lineno} {name}")
    assert offenders == []


def test_event_names_are_stable() -> None:
    assert obs_logging.EVENTS == (
        "llm.request.completed",
        "llm.request.failed",
        "training_job.submitted",
        "training_job.state_changed",
        "training_job.reattached",
        "training_job.finished",
        "http.request.retry",
    )
    assert all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", e) for e in obs_logging.EVENTS)


def test_get_logger_is_structlog() -> None:
    with structlog.testing.capture_logs() as logs:
        obs_logging.get_logger("x").info(obs_logging.TRAINING_JOB_SUBMITTED, ovh_job_id="j")
    assert logs == [{"event": "training_job.submitted", "ovh_job_id": "j", "log_level": "info"}]


def test_log_prompts_defaults_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from ovhcloud_ai_provider.observability import config

    assert obs_logging.log_prompts_enabled() is False
    monkeypatch.setenv("OVHCLOUD_AI_LOG_PROMPTS", "true")
    config.clear_cache()
    assert obs_logging.log_prompts_enabled() is True
    monkeypatch.setenv("AIRFLOW__OVHCLOUD_AI__LOG_PROMPTS", "0")
    config.clear_cache()
    assert obs_logging.log_prompts_enabled() is False
    assert obs_logging.truncate_for_log("x" * 5000, limit=10).startswith("x" * 10 + "...[4990 more")


def test_register_secret_without_airflow_is_a_silent_noop() -> None:
    run_python(
        "import sys\n"
        "from ovhcloud_ai_provider.observability.logging import register_secret\n"
        "register_secret('sk-ovh-SECRET123'); register_secret(None); register_secret('')\n"
        "assert 'airflow' not in sys.modules\n"
    )


def test_register_secret_masks_under_airflows_own_logging() -> None:
    """Under Airflow's processor chain (not ours), a registered token comes out as ***."""
    pytest.importorskip("airflow.sdk.log")
    code = r"""
import io, json, sys
import airflow.sdk  # a task process has the SDK loaded
from airflow.sdk.log import configure_logging
buffer = io.BytesIO()
configure_logging(json_output=True, output=buffer, sending_to_supervisor=False)
from ovhcloud_ai_provider.observability.logging import get_logger, register_secret
register_secret("sk-ovh-SECRET123-token")
get_logger("ovhcloud_ai_provider.test").info("llm.request.failed", detail="auth Bearer sk-ovh-SECRET123-token")
out = buffer.getvalue().decode()
assert "SECRET123" not in out, out
assert "***" in out, out
print(out)
"""
    result = run_python(code)
    assert "llm.request.failed" in result.stdout


def test_warnings_name_the_problem_not_the_arguments() -> None:
    with structlog.testing.capture_logs() as logs:
        obs_logging.warn_once("k", ValueError("bad value"))
        obs_logging.warn_once("k", ValueError("again"))
    assert len(logs) == 1 and logs[0]["where"] == "k" and logs[0]["error"] == "ValueError: bad value"
