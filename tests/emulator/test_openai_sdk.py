"""Faithfulness check: the official ``openai`` SDK talks to the emulator unchanged."""

from __future__ import annotations

import math

import openai
import pytest
from openai import OpenAI

from ovhcloud_ai_provider.testing.emulator import OVHEmulator

CHAT = "Meta-Llama-3_3-70B-Instruct"


@pytest.fixture
def client(emu: OVHEmulator) -> OpenAI:
    return OpenAI(base_url=emu.url + "/v1", api_key="endpoints-token", max_retries=0)


def test_chat_completion(client: OpenAI, emu: OVHEmulator) -> None:
    completion = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "Say hello to Airflow"}],
        max_tokens=100,
        temperature=0.2,
    )
    assert completion.object == "chat.completion" and completion.model == CHAT
    assert completion.choices[0].message.content == "Emulated answer to: Say hello to Airflow"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 7)
    assert emu.accounting()["tokens"][CHAT] == {"prompt": 5, "completion": 7, "total": 12}


def test_chat_with_raw_response_headers(client: OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model=CHAT, messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-ratelimit-limit-minute"] == "400" and raw.headers["x-request-id"]
    assert raw.parse().choices[0].message.content == "Emulated answer to: x"


def test_streaming_with_usage_in_last_chunk(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=CHAT,
        messages=[{"role": "user", "content": "stream this please"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Emulated answer to: stream this please"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (4, 6, 10)
    assert all(c.usage is None for c in chunks[:-1])


def test_streaming_without_usage(client: OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "a"}], stream=True)
    )
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"


def test_embeddings_list_input(client: OpenAI, emu: OVHEmulator) -> None:
    # The SDK asks for base64 by default and decodes it: this also checks that path.
    response = client.embeddings.create(
        model="bge-multilingual-gemma2", input=["first text", "second one here"]
    )
    assert [d.index for d in response.data] == [0, 1]
    assert all(len(d.embedding) == 3584 for d in response.data)
    assert math.isclose(sum(x * x for x in response.data[0].embedding), 1.0, rel_tol=1e-5)
    assert response.usage.prompt_tokens == 5 and response.usage.total_tokens == 5
    floats = client.embeddings.create(
        model="bge-multilingual-gemma2", input="first text", encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(response.data[0].embedding, abs=1e-6)


def test_models_list(client: OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert {CHAT, "gpt-oss-120b", "BGE-M3", "bge-base-en-v1.5", "bge-multilingual-gemma2"} <= ids


def test_rate_limit_is_rate_limit_error(client: OpenAI, emu: OVHEmulator) -> None:
    emu.set_rate_limit(1)
    client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "a"}])
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "a"}])
    assert caught.value.status_code == 429
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert "Rate limit" in caught.value.message


def test_unknown_model_is_not_found_error(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "a"}])
    assert "gpt-4o" in caught.value.message
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_not_found"


def test_bad_key_is_authentication_error(emu: OVHEmulator) -> None:
    bad = OpenAI(base_url=emu.url + "/v1", api_key="revoked", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_bad_request_is_bad_request_error(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=CHAT, messages=[])


def test_payload_too_large_is_api_status_error(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.embeddings.create(model="BGE-M3", input="x" * (2 * 1024 * 1024 + 10))
    assert caught.value.status_code == 413


def test_dropped_connection_is_api_connection_error(client: OpenAI, emu: OVHEmulator) -> None:
    emu.faults.drop(count=1)
    with pytest.raises(openai.APIConnectionError):
        client.models.list()


def test_sdk_retries_on_injected_503(emu: OVHEmulator) -> None:
    emu.faults.fail_next(1, status=503)
    retrying = OpenAI(base_url=emu.url + "/v1", api_key="endpoints-token", max_retries=1)
    assert retrying.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "a"}]).choices
    assert emu.accounting()["requests"]["by_route"]["POST /v1/chat/completions"] == {"503": 1, "200": 1}
