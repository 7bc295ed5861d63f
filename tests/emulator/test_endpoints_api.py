"""AI Endpoints (OpenAI-compatible) routes over real HTTP: models, chat, streaming, embeddings, limits."""

from __future__ import annotations

import base64
import json
import math
import socket
import struct
from collections.abc import Iterator

import pytest
import requests

from ovhcloud_ai_provider.testing.emulator import OVHEmulator

from .conftest import Api

CHAT = "Mistral-7B-Instruct-v0.3"
EMBED = "bge-multilingual-gemma2"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is  Airflow?"}]


def assert_openai_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert {"message", "type", "code"} <= set(body["error"]) and body["error"]["message"]
    error: dict = body["error"]
    return error


# -- models --------------------------------------------------------------------------------------------------
def test_models_list(endpoints: Api) -> None:
    body = endpoints.get("/v1/models").json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    for expected in (
        "gpt-oss-120b",
        "gpt-oss-20b",
        "Meta-Llama-3_3-70B-Instruct",
        CHAT,
        "Mistral-Nemo-Instruct-2407",
        "Mistral-Small-3.2-24B-Instruct-2506",
        "Qwen2.5-VL-72B-Instruct",
        "Qwen3-32B",
        "Qwen3-Coder-30B-A3B-Instruct",
        "bge-multilingual-gemma2",
        "BGE-M3",
        "bge-base-en-v1.5",
    ):
        assert expected in ids
    mistral = next(m for m in body["data"] if m["id"] == CHAT)
    assert mistral["object"] == "model" and isinstance(mistral["created"], int) and mistral["owned_by"]
    assert mistral["context_length"] == 65536
    assert float(mistral["pricing"]["prompt"]) == pytest.approx(0.11e-6)


# -- chat ------------------------------------------------------------------------------------------------------
def test_chat_completion_shape_and_deterministic_usage(emu: OVHEmulator, endpoints: Api) -> None:
    response = endpoints.post("/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "object", "created", "model", "choices", "usage"}
    assert (
        body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion" and body["model"] == CHAT
    )
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Emulated answer to: What is Airflow?"},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ]
    # prompt = words (2 + 3) + 1 per message (2); completion = words of the reply.
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
    assert response.headers["x-ratelimit-limit-minute"] == "400"
    assert response.headers["x-ratelimit-remaining-minute"] == "399"
    assert response.headers["x-request-id"]
    again = endpoints.post("/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES}).json()
    assert again["choices"] == body["choices"] and again["usage"] == body["usage"]


def test_chat_max_tokens_stop_n_and_json_mode(endpoints: Api) -> None:
    capped = endpoints.post(
        "/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES, "max_tokens": 2}
    ).json()
    assert capped["choices"][0]["message"]["content"] == "Emulated answer"
    assert capped["choices"][0]["finish_reason"] == "length" and capped["usage"]["completion_tokens"] == 2
    stopped = endpoints.post(
        "/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES, "stop": [" to:"]}
    ).json()
    assert stopped["choices"][0]["message"]["content"] == "Emulated answer"
    two = endpoints.post("/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES, "n": 2}).json()
    assert [c["index"] for c in two["choices"]] == [0, 1] and two["usage"]["completion_tokens"] == 12
    as_json = endpoints.post(
        "/v1/chat/completions",
        json={"model": CHAT, "messages": MESSAGES, "response_format": {"type": "json_object"}},
    ).json()
    assert json.loads(as_json["choices"][0]["message"]["content"]) == {
        "answer": "Emulated answer to: What is Airflow?"
    }
    parts = endpoints.post(
        "/v1/chat/completions",
        json={
            "model": CHAT,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}],
        },
    ).json()
    assert parts["choices"][0]["message"]["content"] == "Emulated answer to: hi there"


@pytest.mark.parametrize(
    "body",
    [
        {"model": CHAT},
        {"model": CHAT, "messages": []},
        {"model": CHAT, "messages": "hello"},
        {"model": CHAT, "messages": [{"content": "no role"}]},
        {"model": CHAT, "messages": [{"role": "wizard", "content": "x"}]},
        {"model": CHAT, "messages": [{"role": "user"}]},
        {"model": CHAT, "messages": [{"role": "user", "content": 3}]},
        {"model": CHAT, "messages": MESSAGES, "temperature": 3},
        {"model": CHAT, "messages": MESSAGES, "max_tokens": 0},
        {"model": CHAT, "messages": MESSAGES, "stream": "yes"},
        {"model": CHAT, "messages": MESSAGES, "stop": 5},
        {"messages": MESSAGES},
        {"model": 42, "messages": MESSAGES},
        {"model": EMBED, "messages": MESSAGES},
        ["not", "an", "object"],
    ],
)
def test_chat_bad_bodies_are_400_openai_errors(endpoints: Api, body: object) -> None:
    error = assert_openai_error(endpoints.post("/v1/chat/completions", json=body), 400)
    assert error["type"] == "invalid_request_error"


def test_chat_invalid_json_is_400(endpoints: Api) -> None:
    response = endpoints.post("/v1/chat/completions", data=b"{", headers={"Content-Type": "application/json"})
    assert_openai_error(response, 400)


@pytest.mark.parametrize("model", ["gpt-4o", "ovhcloud/Mistral-7B-Instruct-v0.3", "mistral-7b-instruct-v0.3"])
def test_unknown_model_is_404(endpoints: Api, model: str) -> None:
    error = assert_openai_error(
        endpoints.post("/v1/chat/completions", json={"model": model, "messages": MESSAGES}), 404
    )
    assert error["code"] == "model_not_found"
    assert_openai_error(endpoints.post("/v1/embeddings", json={"model": model, "input": "x"}), 404)


@pytest.mark.parametrize("token", [None, "wrong", "training-token"])
def test_bad_or_missing_key_is_401_on_every_route(emu: OVHEmulator, token: str | None) -> None:
    api = Api(emu.url, token)
    assert_openai_error(api.get("/v1/models"), 401)
    assert_openai_error(api.post("/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES}), 401)
    assert_openai_error(api.post("/v1/embeddings", json={"model": EMBED, "input": "x"}), 401)


def test_unknown_endpoints_path_is_openai_404(endpoints: Api) -> None:
    assert_openai_error(endpoints.post("/v1/completion", json={}), 404)


# -- streaming ---------------------------------------------------------------------------------------------------
def sse_events(response: requests.Response) -> Iterator[str]:
    buffer = ""
    for chunk in response.iter_content(chunk_size=None, decode_unicode=True):
        buffer += chunk
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            assert frame.startswith("data: "), frame
            yield frame[len("data: ") :]
    assert buffer == ""


@pytest.mark.parametrize("include_usage", [True, False])
def test_streaming_frames(emu: OVHEmulator, endpoints: Api, include_usage: bool) -> None:
    body = {"model": CHAT, "messages": MESSAGES, "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = endpoints.post("/v1/chat/completions", json=body, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-ratelimit-remaining-minute"] == "399"
    events = list(sse_events(response))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == CHAT for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content_chunks = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) >= 3
    text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    assert text == "Emulated answer to: What is Airflow?"
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["finish_reason"] == "stop"
    usage = {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
    if include_usage:
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage
        assert all(c["usage"] is None for c in chunks[:-1])
    else:
        assert all("usage" not in c for c in chunks)
    assert emu.accounting()["tokens"][CHAT] == {"prompt": 7, "completion": 6, "total": 13}


# -- embeddings ----------------------------------------------------------------------------------------------------
def test_embeddings_single_and_batch(endpoints: Api) -> None:
    one = endpoints.post("/v1/embeddings", json={"model": "BGE-M3", "input": "hello world"}).json()
    assert one["object"] == "list" and one["model"] == "BGE-M3"
    assert one["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    (item,) = one["data"]
    assert item["object"] == "embedding" and item["index"] == 0 and len(item["embedding"]) == 1024
    assert math.isclose(math.fsum(x * x for x in item["embedding"]), 1.0, rel_tol=1e-9)

    batch = endpoints.post("/v1/embeddings", json={"model": "BGE-M3", "input": ["a b c", "hello world", "d"]})
    data = batch.json()["data"]
    assert [d["index"] for d in data] == [0, 1, 2]
    assert data[1]["embedding"] == item["embedding"]  # deterministic per text
    assert data[0]["embedding"] != data[1]["embedding"]
    assert batch.json()["usage"]["prompt_tokens"] == 6
    assert batch.headers["x-ratelimit-limit-minute"] == "400"


@pytest.mark.parametrize(
    ("model", "dims"), [("bge-multilingual-gemma2", 3584), ("bge-base-en-v1.5", 768), ("BGE-M3", 1024)]
)
def test_embedding_dimensions_per_model(endpoints: Api, model: str, dims: int) -> None:
    data = endpoints.post("/v1/embeddings", json={"model": model, "input": "x"}).json()["data"]
    assert len(data[0]["embedding"]) == dims


def test_embeddings_base64_and_dimensions(endpoints: Api) -> None:
    plain = endpoints.post("/v1/embeddings", json={"model": "BGE-M3", "input": "x"}).json()["data"][0][
        "embedding"
    ]
    b64 = endpoints.post(
        "/v1/embeddings", json={"model": "BGE-M3", "input": "x", "encoding_format": "base64"}
    )
    raw = base64.b64decode(b64.json()["data"][0]["embedding"])
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert decoded == pytest.approx(plain, abs=1e-6)
    short = endpoints.post("/v1/embeddings", json={"model": "BGE-M3", "input": "x", "dimensions": 8}).json()
    vec = short["data"][0]["embedding"]
    assert len(vec) == 8 and math.isclose(sum(v * v for v in vec), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize(
    "body",
    [
        {"model": EMBED},
        {"model": EMBED, "input": ""},
        {"model": EMBED, "input": []},
        {"model": EMBED, "input": ["ok", 3]},
        {"model": EMBED, "input": [[1, 2, 3]]},
        {"model": EMBED, "input": "x", "encoding_format": "int8"},
        {"model": EMBED, "input": "x", "dimensions": 100000},
        {"model": CHAT, "input": "x"},
    ],
)
def test_embeddings_bad_bodies_are_400(endpoints: Api, body: dict) -> None:
    assert_openai_error(endpoints.post("/v1/embeddings", json=body), 400)


# -- payload limit -------------------------------------------------------------------------------------------------
def test_body_over_2mb_is_413_before_parsing(emu: OVHEmulator, endpoints: Api) -> None:
    big = "x" * (2 * 1024 * 1024)
    error = assert_openai_error(
        endpoints.post("/v1/embeddings", json={"model": EMBED, "input": big}), 413
    )  # JSON quoting makes it > 2 MiB
    assert error["code"] == "payload_too_large"
    # Not even JSON: the size check comes first.
    garbage = b"{" * (2 * 1024 * 1024 + 1)
    assert_openai_error(endpoints.post("/v1/chat/completions", data=garbage), 413)

    # Chunked upload without Content-Length.
    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"y" * (1024 * 1024)

    assert_openai_error(endpoints.post("/v1/chat/completions", data=chunks()), 413)
    # Exactly at the limit is accepted (and then parsed).
    at_limit = json.dumps({"model": EMBED, "input": "z"}).encode()
    at_limit += b" " * (2 * 1024 * 1024 - len(at_limit))
    ok = endpoints.post("/v1/embeddings", data=at_limit, headers={"Content-Type": "application/json"})
    assert ok.status_code == 200
    by_route = emu.accounting()["requests"]["by_route"]
    assert by_route["POST /v1/embeddings"] == {"413": 1, "200": 1}


def test_training_bodies_are_not_limited(training: Api) -> None:
    env = [{"name": f"V{i}", "value": "x" * 1000} for i in range(2500)]  # ~2.5 MB
    assert training.post("/v1/job", json={"image": "ubuntu", "envVars": env}).status_code == 200


# -- rate limit --------------------------------------------------------------------------------------------------
def test_rate_limit_per_token_and_model(emu: OVHEmulator, endpoints: Api) -> None:
    emu.configure(rate_limit_per_minute=3, endpoints_tokens=("endpoints-token", "other-token"))
    body = {"model": CHAT, "messages": MESSAGES}
    remaining = [
        endpoints.post("/v1/chat/completions", json=body).headers["x-ratelimit-remaining-minute"]
        for _ in range(3)
    ]
    assert remaining == ["2", "1", "0"]
    limited = endpoints.post("/v1/chat/completions", json=body)
    error = assert_openai_error(limited, 429)
    assert error["type"] == "rate_limit_error"
    assert limited.headers["x-ratelimit-limit-minute"] == "3"
    assert limited.headers["x-ratelimit-remaining-minute"] == "0"
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    # Per model: another model still has its budget; per token: another key too.
    assert endpoints.post("/v1/chat/completions", json={**body, "model": "Qwen3-32B"}).status_code == 200
    other = Api(emu.url, "other-token")
    assert other.post("/v1/chat/completions", json=body).status_code == 200
    # Refused requests do not consume budget; the window slides with the clock.
    emu.advance(retry_after)
    assert endpoints.post("/v1/chat/completions", json=body).status_code == 200
    accounting = emu.accounting()
    assert accounting["requests"]["by_model"][CHAT] == {"200": 5, "429": 1}
    assert accounting["tokens"][CHAT]["prompt"] == 7 * 5


def test_rate_limit_applies_to_embeddings_and_short_windows(emu: OVHEmulator, endpoints: Api) -> None:
    emu.configure(rate_limit_per_minute=1, rate_limit_window_seconds=5)
    assert endpoints.post("/v1/embeddings", json={"model": EMBED, "input": "a"}).status_code == 200
    limited = endpoints.post("/v1/embeddings", json={"model": EMBED, "input": "a"})
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 5
    emu.advance(5)
    assert endpoints.post("/v1/embeddings", json={"model": EMBED, "input": "a"}).status_code == 200


def test_anonymous_calls_when_allowed(emu: OVHEmulator) -> None:
    anon = Api(emu.url, None)
    assert anon.get("/v1/models").status_code == 401
    emu.configure(allow_anonymous=True)
    body = {"model": CHAT, "messages": MESSAGES}
    assert [anon.post("/v1/chat/completions", json=body).status_code for _ in range(3)] == [200, 200, 429]
    assert Api(emu.url, "bad").post("/v1/chat/completions", json=body).status_code == 401


def test_set_rate_limit_shortcut_and_reset(emu: OVHEmulator, endpoints: Api) -> None:
    emu.set_rate_limit(1)
    body = {"model": CHAT, "messages": MESSAGES}
    assert [endpoints.post("/v1/chat/completions", json=body).status_code for _ in range(2)] == [200, 429]
    emu.reset()
    assert emu.config.rate_limit_per_minute == 400 and emu.config.time_scale == 1.0
    assert endpoints.post("/v1/chat/completions", json=body).status_code == 200


def test_raw_socket_request_gets_request_id(emu: OVHEmulator) -> None:
    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 401") and b"x-request-id:" in head
