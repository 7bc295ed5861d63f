"""Secrets never leave: tokens and job env var values in no log line, error message, XCom or rendered field.

Real outputs are scanned: everything the provider printed (structlog and stdlib logging, captured at the
file-descriptor level), every error message, the XComs and rendered fields Airflow stored.
"""

from __future__ import annotations

import json

import pytest

from ovhcloud_ai_provider.exceptions import OVHCloudAIError
from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.hooks.client import RetryConfig
from ovhcloud_ai_provider.testing import OVHEmulator
from tests.dagrun import run_dag

TRAINING_TOKEN = "tr41n-T0KEN-6d1f0c9a8b7e"
ENDPOINTS_TOKEN = "ep-K3Y-9f8e7d6c5b4a3210"
ENV_SECRET = "hf_S3CR3T_5d4c3b2a1f0e"
SECRETS = (TRAINING_TOKEN, ENDPOINTS_TOKEN, ENV_SECRET)


@pytest.fixture
def secret_emulator(monkeypatch):
    with OVHEmulator(training_tokens=(TRAINING_TOKEN,), endpoints_tokens=(ENDPOINTS_TOKEN,)) as emu:
        monkeypatch.setenv(
            "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
            json.dumps({"conn_type": "ovhcloud_ai_training", "host": emu.url, "login": "gra", "password": TRAINING_TOKEN}),
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT",
            json.dumps({"conn_type": "ovhcloud_ai_endpoints", "host": f"{emu.url}/v1", "password": ENDPOINTS_TOKEN}),
        )
        yield emu


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:6]}... leaked"


def test_hook_calls_and_errors_never_show_secrets(secret_emulator, capfd, caplog):
    caplog.set_level("DEBUG")
    fast = RetryConfig(max_retries=1, backoff_factor=0.01)
    training = OVHCloudAITrainingHook(retry=fast)
    endpoints = OVHCloudAIEndpointsHook(retry=fast)
    errors: list[str] = []

    job = training.submit_job(image="ubuntu:22.04", env_vars=[{"name": "HF_TOKEN", "value": ENV_SECRET}])
    training.wait_for_job(job["id"], check_interval=0, timeout=60)
    training.get_job_logs(job["id"])
    endpoints.chat_completion("Mistral-7B-Instruct-v0.3", [{"role": "user", "content": "hi"}], stream=True)
    endpoints.create_embedding("BGE-M3", ["a", "b"])
    secret_emulator.faults.fail_next(5, status=502, path_prefix="/v1/job", method="GET")
    secret_emulator.faults.malformed(count=1, path_prefix="/v1/models")
    for call in (
        lambda: training.list_jobs(),
        lambda: endpoints.list_models(),
        lambda: training.get_job("00000000-0000-4000-8000-000000000000"),
        lambda: endpoints.chat_completion("nope", [{"role": "user", "content": "x"}]),
        lambda: training.submit_job(image="x", shutdown="Fast", env_vars=[{"name": "K", "value": ENV_SECRET}]),
    ):
        with pytest.raises(OVHCloudAIError) as caught:
            call()
        errors.append(str(caught.value))
    errors.extend(str(hook.test_connection()) for hook in (training, endpoints))

    captured = capfd.readouterr()
    output = captured.out + captured.err + caplog.text + "\n".join(errors)
    assert "llm.request.completed" in output and "training_job.submitted" in output  # logs were really captured
    assert len(errors) == 7
    assert_clean(output)


def test_a_dag_run_stores_no_secret(secret_emulator, airflow_db, capfd):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = run_dag("tests/dags/training_dags.py", "ovhai_test_submit_deferred", run_conf={"secret": ENV_SECRET})
    captured = capfd.readouterr()
    with create_session() as session:
        xcoms = session.query(XComModel).filter_by(run_id=run.run_id).all()
        stored = [json.dumps(XComModel.deserialize_value(x), default=str) for x in xcoms]
        rendered = [json.dumps(r.rendered_fields, default=str) for r in session.query(RenderedTaskInstanceFields).filter_by(run_id=run.run_id)]
    assert stored and rendered
    # The job really received the secret (the emulator saw it), and nothing we output shows it.
    assert any(env.get("value") == ENV_SECRET for job in secret_emulator.jobs() for env in job["spec"].get("envVars", []))
    assert_clean(captured.out + captured.err + "\n".join(stored) + "\n".join(rendered))
