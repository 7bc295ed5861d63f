"""OVHCloudAIEndpointsHook against the emulator: every seed method, streaming, batching, bad input."""

from __future__ import annotations

import json

import pytest

from ovhcloud_ai_provider.exceptions import OVHCloudAIConfigurationError, OVHCloudAIValidationError
from ovhcloud_ai_provider.hooks.ai_endpoints import MAX_REQUEST_BYTES, OVHCloudAIEndpointsHook, split_batches

CHAT = "Mistral-7B-Instruct-v0.3"
EMBED = "bge-multilingual-gemma2"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is Airflow?"}]


def test_seed_constants_and_defaults():
    assert OVHCloudAIEndpointsHook.BASE_URL == "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"
    hook = OVHCloudAIEndpointsHook()
    assert hook.ovh_conn_id == "ovh_ai_endpoints_default" and hook.timeout == 60
    assert OVHCloudAIEndpointsHook.default_conn_name == "ovh_ai_endpoints_default"


def test_chat_completion_returns_the_api_answer_and_counts_tokens(emu, endpoints):
    answer = endpoints.chat_completion(CHAT, MESSAGES, temperature=0.2, max_tokens=50, top_p=0.9, stop=["\n\n"])
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["role"] == "assistant"
    usage = answer["usage"]
    truth = emu.accounting()["tokens"][CHAT]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (truth["prompt"], truth["completion"])
    assert endpoints.usage.as_dict()["total_tokens"] == truth["total"]
    assert endpoints.usage.requests == 1


def test_streaming_returns_the_same_shape_with_usage(emu, endpoints):
    plain = endpoints.chat_completion(CHAT, MESSAGES)
    streamed = endpoints.chat_completion(CHAT, MESSAGES, stream=True)
    assert streamed["choices"][0]["message"]["content"] == plain["choices"][0]["message"]["content"]
    assert streamed["choices"][0]["finish_reason"] == plain["choices"][0]["finish_reason"]
    assert streamed["usage"] == plain["usage"]
    assert endpoints.usage.requests == 2


def test_stream_generator_yields_chunks_as_they_arrive(endpoints):
    chunks = list(endpoints.stream_chat_completion(CHAT, MESSAGES))
    assert len(chunks) >= 3
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[-1]["usage"]["total_tokens"] > 0


def test_embeddings_batches_keep_order_and_sum_usage(emu, endpoints):
    texts = [f"text number {i} " + "word " * (i % 5) for i in range(150)]
    result = endpoints.create_embedding(EMBED, texts, batch_size=40)
    assert [item["index"] for item in result["data"]] == list(range(150))
    assert emu.accounting()["requests"]["by_route"]["POST /v1/embeddings"] == {"200": 4}
    # Batching changes nothing about the vectors: each equals the single-text answer.
    single = endpoints.create_embedding(EMBED, texts[97])
    assert result["data"][97]["embedding"] == single["data"][0]["embedding"]
    assert result["usage"]["prompt_tokens"] + single["usage"]["prompt_tokens"] == emu.accounting()["tokens"][EMBED]["prompt"]


def test_embeddings_split_under_the_2mb_limit(emu, endpoints):
    texts = ["y" * 700_000 for _ in range(5)]  # 3.5 MB in total, each fits alone
    result = endpoints.create_embedding(EMBED, texts, batch_size=100)
    assert len(result["data"]) == 5
    requests = emu.accounting()["requests"]["by_route"]["POST /v1/embeddings"]
    assert requests == {"200": 3}


def test_split_batches_respects_both_limits():
    batches = list(split_batches(["a" * 10] * 7, batch_size=3, max_bytes=10_000))
    assert [(offset, len(batch)) for offset, batch in batches] == [(0, 3), (3, 3), (6, 1)]
    with pytest.raises(OVHCloudAIValidationError):
        list(split_batches(["z" * (MAX_REQUEST_BYTES + 1)], batch_size=3, max_bytes=MAX_REQUEST_BYTES))


def test_test_connection_succeeds_and_fails_clearly(emu, endpoints, monkeypatch):
    ok, message = endpoints.test_connection()
    assert ok and "models available" in message
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT",
        json.dumps({"conn_type": "ovhcloud_ai_endpoints", "host": emu.url, "password": "revoked-key-987"}),
    )
    ok, message = OVHCloudAIEndpointsHook().test_connection()
    assert not ok and "401" in message and "revoked-key-987" not in message


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([], "non-empty list"),
        ("hello", "non-empty list"),
        ([{"role": "wizard", "content": "x"}], "invalid role"),
        ([{"role": "user"}], "no 'content'"),
        (["just a string"], "expected a dict"),
    ],
)
def test_bad_messages_fail_before_any_call(emu, endpoints, messages, fragment):
    with pytest.raises(OVHCloudAIValidationError, match=fragment):
        endpoints.chat_completion(CHAT, messages)
    assert emu.accounting()["requests"]["total"] == 0


@pytest.mark.parametrize(
    "kwargs", [{"temperature": 3}, {"top_p": 1.5}, {"max_tokens": 0}, {"max_tokens": "many"}]
)
def test_bad_sampling_parameters_fail_before_any_call(emu, endpoints, kwargs):
    with pytest.raises(OVHCloudAIValidationError):
        endpoints.chat_completion(CHAT, MESSAGES, **kwargs)
    assert emu.accounting()["requests"]["total"] == 0


def test_bad_embedding_input_fails_before_any_call(emu, endpoints):
    for bad in ([], [1, 2], None):
        with pytest.raises(OVHCloudAIValidationError):
            endpoints.create_embedding(EMBED, bad)  # type: ignore[arg-type]
    with pytest.raises(OVHCloudAIValidationError):
        endpoints.create_embedding("", "text")
    assert emu.accounting()["requests"]["total"] == 0


def test_missing_token_is_a_configuration_error(monkeypatch, emu):
    monkeypatch.setenv("AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT", json.dumps({"conn_type": "generic", "host": emu.url}))
    with pytest.raises(OVHCloudAIConfigurationError, match="token not found in connection 'ovh_ai_endpoints_default'"):
        OVHCloudAIEndpointsHook().chat_completion(CHAT, MESSAGES)


def test_generic_connection_uri_form_works(monkeypatch, emu):
    host, port = emu.url.removeprefix("http://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_MY_OVH", f"generic://:endpoints-token@{host}:{port}/http")
    hook = OVHCloudAIEndpointsHook(ovh_conn_id="my_ovh")
    assert hook.base_url == f"http://{host}:{port}/v1"
    assert hook.list_models()


def test_test_connection_uses_a_short_retry_budget(emu):
    """The UI's Test button must answer fast: one retry, not the task budget of five."""
    emu.faults.fail_next(10, status=503, path_prefix="/v1/models")
    ok, message = OVHCloudAIEndpointsHook().test_connection()
    assert not ok and "HTTP 503" in message
    assert emu.accounting()["requests"]["by_route"]["GET /v1/models"] == {"503": 2}
