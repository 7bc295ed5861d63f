"""The shared client over real HTTP: retries, budgets and one typed error per failure kind."""

from __future__ import annotations

import json
import socket

import pytest

from ovhcloud_ai_provider.exceptions import (
    OVHCloudAIAuthenticationError,
    OVHCloudAIInvalidRequestError,
    OVHCloudAINotFoundError,
    OVHCloudAIRateLimitedError,
    OVHCloudAIResponseError,
    OVHCloudAIServerError,
    OVHCloudAITimeoutError,
    OVHCloudAIUnreachableError,
)
from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.hooks.client import RetryConfig

from .conftest import FAST_RETRY

CHAT = "Mistral-7B-Instruct-v0.3"
MESSAGES = [{"role": "user", "content": "hello there"}]


def route_counts(emu, route: str) -> dict[str, int]:
    return emu.accounting()["requests"]["by_route"].get(route, {})


def test_429_is_retried_then_succeeds(emu, endpoints):
    emu.faults.fail_next(2, status=429, path_prefix="/v1/chat/completions", headers={"Retry-After": "0"})
    answer = endpoints.chat_completion(CHAT, MESSAGES)
    assert answer["choices"][0]["message"]["content"]
    assert route_counts(emu, "POST /v1/chat/completions") == {"429": 2, "200": 1}


def test_429_after_budget_is_rate_limited_error(emu, endpoints):
    emu.faults.fail_next(10, status=429, path_prefix="/v1/chat/completions", headers={"Retry-After": "0"})
    with pytest.raises(OVHCloudAIRateLimitedError) as caught:
        endpoints.chat_completion(CHAT, MESSAGES)
    message = str(caught.value)
    assert "POST /chat/completions" in message and "HTTP 429" in message
    assert caught.value.status == 429
    assert route_counts(emu, "POST /v1/chat/completions") == {"429": 3}  # 1 + 2 retries


def test_real_rate_limiter_headers_reach_the_error(emu):
    emu.reset()
    hook = OVHCloudAIEndpointsHook(retry=RetryConfig(max_retries=0))
    emu.set_rate_limit(1) if hasattr(emu, "set_rate_limit") else pytest.skip("emulator has no set_rate_limit")
    hook.chat_completion(CHAT, MESSAGES)
    with pytest.raises(OVHCloudAIRateLimitedError) as caught:
        hook.chat_completion(CHAT, MESSAGES)
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_for_inference_posts(emu, endpoints, status):
    emu.faults.fail_next(1, status=status, path_prefix="/v1/embeddings")
    result = endpoints.create_embedding("bge-multilingual-gemma2", "one text")
    assert len(result["data"]) == 1
    assert route_counts(emu, "POST /v1/embeddings") == {str(status): 1, "200": 1}


def test_html_502_page_after_budget_is_a_server_error_with_a_clean_message(emu, training):
    emu.faults.fail_next(5, status=502, path_prefix="/v1/job", method="GET")
    with pytest.raises(OVHCloudAIServerError) as caught:
        training.list_jobs()
    message = str(caught.value)
    assert "GET /v1/job -> HTTP 502" in message
    assert "<html" not in message.lower()
    assert route_counts(emu, "GET /v1/job") == {"502": 3}


def test_job_submission_is_never_blindly_resent(emu, training):
    emu.faults.fail_next(1, status=503, path_prefix="/v1/job", method="POST")
    with pytest.raises(OVHCloudAIServerError):
        training.submit_job(image="ubuntu:22.04")
    assert route_counts(emu, "POST /v1/job") == {"503": 1}
    # The same fault on a GET is retried.
    emu.faults.fail_next(1, status=503, path_prefix="/v1/job", method="GET")
    training.list_jobs()
    assert route_counts(emu, "GET /v1/job") == {"503": 1, "200": 1}


def test_truncated_json_is_a_response_error(emu, training):
    emu.faults.malformed(count=1, path_prefix="/v1/job", method="GET")
    with pytest.raises(OVHCloudAIResponseError) as caught:
        training.list_jobs()
    assert "expected a JSON body" in str(caught.value)


def test_dropped_connection_is_unreachable(emu, training):
    emu.faults.drop(count=10, path_prefix="/v1/job", method="GET")
    with pytest.raises(OVHCloudAIUnreachableError) as caught:
        training.list_jobs()
    assert "GET /v1/job -> no HTTP answer" in str(caught.value)


def test_timeout_is_a_timeout_error(emu):
    emu.faults.latency(3.0, path_prefix="/v1/models")
    hook = OVHCloudAIEndpointsHook(timeout=1, retry=RetryConfig(max_retries=0))
    with pytest.raises(OVHCloudAITimeoutError) as caught:
        hook.list_models()
    assert "no answer within 1s" in str(caught.value)


def test_connection_refused_is_unreachable(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps({"conn_type": "ovhcloud_ai_training", "host": f"http://127.0.0.1:{port}", "password": "tok-refused"}),
    )
    hook = OVHCloudAITrainingHook(retry=RetryConfig(max_retries=1, backoff_factor=0.01))
    with pytest.raises(OVHCloudAIUnreachableError) as caught:
        hook.get_job("0b5f1b8e-0000-4000-8000-000000000000")
    assert "connection refused" in str(caught.value)
    ok, reason = hook.test_connection()
    assert not ok and "connection refused" in reason


def test_bad_token_is_authentication_error(emu, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps({"conn_type": "ovhcloud_ai_training", "host": emu.url, "login": "gra", "password": "wrong-token-123"}),
    )
    hook = OVHCloudAITrainingHook(retry=FAST_RETRY)
    with pytest.raises(OVHCloudAIAuthenticationError) as caught:
        hook.list_jobs()
    assert "HTTP 401" in str(caught.value)
    assert "wrong-token-123" not in str(caught.value)
    ok, reason = hook.test_connection()
    assert ok is False and "401" in reason and "wrong-token-123" not in reason


def test_unknown_job_is_not_found(training):
    with pytest.raises(OVHCloudAINotFoundError) as caught:
        training.get_job("0b5f1b8e-0000-4000-8000-000000000000")
    assert "GET /v1/job/0b5f1b8e-0000-4000-8000-000000000000 -> HTTP 404" in str(caught.value)


def test_unknown_model_is_not_found_with_the_api_message(endpoints):
    with pytest.raises(OVHCloudAINotFoundError) as caught:
        endpoints.chat_completion("no-such-model", MESSAGES)
    assert "no-such-model" in str(caught.value)


def test_request_over_2mb_is_invalid_request(endpoints):
    huge = "x" * (2 * 1024 * 1024 + 10)
    with pytest.raises(OVHCloudAIInvalidRequestError) as caught:
        endpoints.chat_completion(CHAT, [{"role": "user", "content": huge}])
    assert caught.value.status == 413


def test_api_400_is_invalid_request(training):
    with pytest.raises(OVHCloudAIInvalidRequestError) as caught:
        # A label the API refuses but our validation lets through is hard to find; a raw call is enough.
        training.client.request_json("POST", "/v1/job", json_body={"command": ["x"]})
    assert caught.value.status == 400
    assert "POST /v1/job -> HTTP 400" in str(caught.value)


def test_retry_budget_comes_from_connection_extra(emu, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT",
        json.dumps(
            {
                "conn_type": "ovhcloud_ai_training",
                "host": emu.url,
                "login": "gra",
                "password": "training-token",
                "extra": {"max_retries": 4, "backoff_factor": 0.01, "backoff_jitter": 0},
            }
        ),
    )
    emu.faults.fail_next(4, status=503, path_prefix="/v1/job", method="GET")
    OVHCloudAITrainingHook().list_jobs()
    assert route_counts(emu, "GET /v1/job") == {"503": 4, "200": 1}
