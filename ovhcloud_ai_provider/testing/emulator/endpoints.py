"""AI Endpoints routes: the OpenAI-compatible API under ``/v1`` (ovh-api.md section 2).

``GET /v1/models``, ``POST /v1/chat/completions`` (plain and SSE streaming) and ``POST /v1/embeddings``,
with OpenAI-style errors, the per-token per-model rate limit and its headers. The official ``openai`` SDK
must work against these routes unchanged (tests check it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .auth import bearer_token
from .catalog import MODELS, MODELS_CREATED, Model
from .errors import EndpointsAPIError
from .inference import (
    apply_limits,
    content_text,
    count_words,
    embedding_vector,
    encode_base64,
    prompt_tokens,
    reply_text,
    truncate_dimensions,
)
from .ratelimit import RateDecision
from .state import EmulatorState

router = APIRouter()

ROLES = frozenset({"system", "user", "assistant", "tool", "developer", "function"})


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _caller(request: Request) -> str:
    """Rate-limit identity: the token, or ``anon:<ip>`` when anonymous calls are allowed."""
    cfg = _state(request).config
    token = bearer_token(request)
    if token is None:
        if cfg.allow_anonymous:
            return "anon:" + (request.client.host if request.client else "unknown")
        raise EndpointsAPIError(
            401,
            "Missing API key: send 'Authorization: Bearer <API key>'",
            code="invalid_api_key",
        )
    if token not in cfg.endpoints_tokens:
        raise EndpointsAPIError(401, "Invalid or expired API key", code="invalid_api_key")
    return "token:" + token


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise EndpointsAPIError(400, "Request body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise EndpointsAPIError(400, "Request body must be a JSON object", code="invalid_request")
    return body


def _model(body: dict[str, Any], kind: str) -> Model:
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise EndpointsAPIError(400, "'model' is required and must be a string", code="missing_model")
    model = MODELS.get(name)
    if model is None:
        hint = " (drop the litellm 'ovhcloud/' prefix)" if name.startswith("ovhcloud/") else ""
        raise EndpointsAPIError(404, f"The model '{name}' does not exist{hint}", code="model_not_found")
    if model.kind != kind:
        raise EndpointsAPIError(
            400,
            f"The model '{name}' is a {model.kind} model and cannot serve this route",
            code="model_not_supported",
        )
    return model


def _rate_limit(request: Request, caller: str, model: str) -> RateDecision:
    state = _state(request)
    cfg = state.config
    limit = cfg.anonymous_rate_limit_per_minute if caller.startswith("anon:") else cfg.rate_limit_per_minute
    decision = state.rate_limiter.hit(
        caller, model, limit=limit, window=cfg.rate_limit_window_seconds, now=state.clock.now()
    )
    if not decision.allowed:
        raise EndpointsAPIError(
            429,
            f"Rate limit reached for model '{model}': {limit} requests per minute",
            type_="rate_limit_error",
            code="rate_limit_exceeded",
            headers=decision.headers(),
        )
    return decision


def _optional_number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise EndpointsAPIError(
            400, f"'{name}' must be a number between {low} and {high}", code="invalid_parameter"
        )


def _optional_positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EndpointsAPIError(400, f"'{name}' must be a positive integer", code="invalid_parameter")
    return value


def _validate_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EndpointsAPIError(400, "'messages' must be a non-empty list", code="invalid_messages")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise EndpointsAPIError(400, f"messages[{i}] must be an object", code="invalid_messages")
        if msg.get("role") not in ROLES:
            raise EndpointsAPIError(
                400, f"messages[{i}].role must be one of {', '.join(sorted(ROLES))}", code="invalid_messages"
            )
        content = msg.get("content")
        if content is None and not (msg.get("role") == "assistant" and msg.get("tool_calls")):
            raise EndpointsAPIError(400, f"messages[{i}].content is required", code="invalid_messages")
        if content is not None and not isinstance(content, (str, list)):
            raise EndpointsAPIError(
                400, f"messages[{i}].content must be a string or a list", code="invalid_messages"
            )
    return messages


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    """Model list, OpenAI-wrapped, with OVH catalog extras (pricing, context_length)."""
    _caller(request)
    return JSONResponse({"object": "list", "data": [m.to_api(MODELS_CREATED) for m in MODELS.values()]})


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    """Chat completion; ``stream: true`` answers SSE ``chat.completion.chunk`` frames then ``[DONE]``."""
    caller = _caller(request)
    body = await _json_object(request)
    model = _model(body, "chat")
    decision = _rate_limit(request, caller, model.id)
    messages = _validate_messages(body)
    _optional_number(body, "temperature", 0, 2)
    _optional_number(body, "top_p", 0, 1)
    max_tokens = _optional_positive_int(body, "max_completion_tokens") or _optional_positive_int(
        body, "max_tokens"
    )
    n = _optional_positive_int(body, "n") or 1
    stop = body.get("stop")
    if stop is None:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = stop
    else:
        raise EndpointsAPIError(400, "'stop' must be a string or a list of strings", code="invalid_parameter")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise EndpointsAPIError(400, "'stream' must be a boolean", code="invalid_parameter")
    fmt = body.get("response_format")
    json_mode = isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")

    text, finish = apply_limits(reply_text(messages, json_mode=json_mode), max_tokens=max_tokens, stop=stops)
    usage = {
        "prompt_tokens": prompt_tokens(messages),
        "completion_tokens": count_words(text) * n,
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    state = _state(request)
    state.accounting.record_tokens(model.id, usage["prompt_tokens"], usage["completion_tokens"])
    completion_id = "chatcmpl-" + uuid.uuid4().hex
    created = int(state.clock.now())
    headers = decision.headers()

    if stream:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamingResponse(
            _stream(completion_id, created, model.id, text, finish, n, usage if include_usage else None),
            media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache"},
        )
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model.id,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
                for i in range(n)
            ],
            "usage": usage,
        },
        headers=headers,
    )


async def _stream(
    completion_id: str,
    created: int,
    model: str,
    text: str,
    finish: str,
    n: int,
    usage: dict[str, int] | None,
) -> AsyncIterator[bytes]:
    """SSE frames: role delta, one content delta per word, finish chunk, optional usage chunk, [DONE]."""

    def frame(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
        }
        if usage is not None:
            chunk["usage"] = None  # OpenAI: null on every chunk but the last when include_usage is set
        chunk.update(extra)
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    def choice(i: int, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": i, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    yield frame([choice(i, {"role": "assistant", "content": ""}) for i in range(n)])
    for k, word in enumerate(text.split()):
        piece = word if k == 0 else " " + word
        yield frame([choice(i, {"content": piece}) for i in range(n)])
    yield frame([choice(i, {}, finish) for i in range(n)])
    if usage is not None:
        yield frame([], usage=usage)
    yield b"data: [DONE]\n\n"


@router.post("/v1/embeddings")
async def embeddings(request: Request) -> Response:
    """Embeddings of a string or a list of strings; ``encoding_format`` float (default) or base64."""
    caller = _caller(request)
    body = await _json_object(request)
    model = _model(body, "embedding")
    decision = _rate_limit(request, caller, model.id)
    raw = body.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) and t for t in inputs):
        raise EndpointsAPIError(
            400,
            "'input' must be a non-empty string or a non-empty list of non-empty strings",
            code="invalid_input",
        )
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise EndpointsAPIError(
            400, "'encoding_format' must be 'float' or 'base64'", code="invalid_parameter"
        )
    dims = model.dimensions or 384
    wanted = _optional_positive_int(body, "dimensions")
    if wanted is not None and wanted > dims:
        raise EndpointsAPIError(
            400, f"'dimensions' must be <= {dims} for '{model.id}'", code="invalid_parameter"
        )
    data = []
    for index, text in enumerate(inputs):
        vector = embedding_vector(text, dims)
        if wanted is not None and wanted < dims:
            vector = truncate_dimensions(vector, wanted)
        data.append(
            {
                "object": "embedding",
                "index": index,
                "embedding": encode_base64(vector) if encoding == "base64" else list(vector),
            }
        )
    tokens = sum(max(1, count_words(content_text(t))) for t in inputs)
    state = _state(request)
    state.accounting.record_tokens(model.id, tokens, 0)
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "model": model.id,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        headers=decision.headers(),
    )
