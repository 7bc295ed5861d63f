"""Hook for OVHcloud AI Endpoints, the OpenAI-compatible inference API.

Every call goes through the shared client, then reports usage once: metrics (tokens, estimated cost), one
structured log event (``llm.request.completed``) and hook-level lineage for users calling the hook from a
``@task`` function. Prompts and completions are only logged when the user opts in.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import structlog

from ovhcloud_ai_provider.exceptions import (
    OVHCloudAIResponseError,
    OVHCloudAIServerError,
    OVHCloudAIValidationError,
)
from ovhcloud_ai_provider.hooks.base import OVHCloudAIBaseHook
from ovhcloud_ai_provider.hooks.connection import ResolvedConnection, url_from_host, with_default_path

log = structlog.get_logger(__name__)

#: Documented request body limit of AI Endpoints; larger bodies get 413.
MAX_REQUEST_BYTES = 2 * 1024 * 1024
#: Head-room for the JSON envelope around the inputs of one embeddings request.
_ENVELOPE_BYTES = 4096
DEFAULT_EMBEDDING_BATCH_SIZE = 64


@dataclass
class UsageTotals:
    """Usage summed over every call a hook made: what operators put in XCom and lineage."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated_cost: float | None = None
    models: list[str] = field(default_factory=list)

    def add(self, model: str, usage: dict[str, Any] | None, cost: float | None) -> None:
        self.requests += 1
        if model not in self.models:
            self.models.append(model)
        if usage:
            prompt = int(usage.get("prompt_tokens") or 0)
            completion = int(usage.get("completion_tokens") or 0)
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            self.total_tokens += int(usage.get("total_tokens") or prompt + completion)
        if cost is not None:
            self.estimated_cost = (self.estimated_cost or 0.0) + cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "estimated_cost": None if self.estimated_cost is None else round(self.estimated_cost, 10),
        }


class OVHCloudAIEndpointsHook(OVHCloudAIBaseHook):
    """Chat completions (plain or streamed) and embeddings on OVHcloud AI Endpoints.

    :param ovh_conn_id: Airflow connection id; the token is its password.
    :param timeout: seconds to wait for an answer (per HTTP attempt).
    :param retry: retry budget and backoff (defaults, overridable by connection extras).
    :param embedding_batch_size: most inputs sent in one embeddings request.
    """

    conn_name_attr = "ovh_conn_id"
    default_conn_name = "ovh_ai_endpoints_default"
    conn_type = "ovhcloud_ai_endpoints"
    hook_name = "OVHcloud AI Endpoints"
    service = "ai_endpoints"
    service_label = "AI Endpoints"

    BASE_URL = "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"

    def __init__(
        self,
        ovh_conn_id: str = default_conn_name,
        timeout: int = 60,
        *,
        retry: Any = None,
        embedding_batch_size: int | None = None,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, timeout=timeout, retry=retry)
        self.embedding_batch_size = embedding_batch_size
        self.usage = UsageTotals()

    def _resolve(self, conn: Any, extra: dict[str, Any], token: str) -> ResolvedConnection:
        override = url_from_host(conn, extra)
        base_url = with_default_path(override, "/v1") if override else self.BASE_URL
        if self.embedding_batch_size is None and extra.get("embedding_batch_size"):
            with contextlib.suppress(TypeError, ValueError):
                self.embedding_batch_size = int(extra["embedding_batch_size"])
        return ResolvedConnection(base_url=base_url, token=token)

    # ------------------------------------------------------------------ chat
    def chat_completion(
        self,
        model: str,
        messages: list[dict[str, str]],
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stream: bool = False,
        stop: str | list[str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create a chat completion. With ``stream=True`` the answer is read as it is generated (SSE) and
        returned in the same shape as a non-streamed answer, ``usage`` included."""
        if stream:
            chunks = self.stream_chat_completion(
                model, messages, temperature=temperature, max_tokens=max_tokens, top_p=top_p, stop=stop, **kwargs
            )
            return assemble_stream(chunks)
        body = self._chat_body(model, messages, temperature, max_tokens, top_p, stop, kwargs)
        started = time.monotonic()
        response = self.client.request_json(
            "POST", "/chat/completions", json_body=body, model=model, operation="chat"
        )
        if not isinstance(response, dict) or not isinstance(response.get("choices"), list):
            raise OVHCloudAIResponseError(
                "Request to OVHcloud AI Endpoints failed: POST /chat/completions -> answer without 'choices'"
            )
        self._report("chat", model, response.get("usage"), started, messages, response, streamed=False)
        return response

    def stream_chat_completion(
        self,
        model: str,
        messages: list[dict[str, str]],
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Yield ``chat.completion.chunk`` dicts as they arrive. Usage is requested
        (``stream_options.include_usage``) and reported when the stream ends."""
        kwargs = dict(kwargs)
        stream_options = dict(kwargs.pop("stream_options", None) or {})
        stream_options.setdefault("include_usage", True)
        body = self._chat_body(model, messages, temperature, max_tokens, top_p, stop, kwargs)
        body["stream"] = True
        body["stream_options"] = stream_options
        return self._stream(model, messages, body)

    def _stream(
        self, model: str, messages: list[dict[str, str]], body: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        started = time.monotonic()
        usage: dict[str, Any] | None = None
        collected: list[dict[str, Any]] = []
        for line in self.client.stream_lines(
            "POST", "/chat/completions", json_body=body, model=model, operation="chat"
        ):
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise OVHCloudAIResponseError(
                    f"Request to OVHcloud AI Endpoints failed: POST /chat/completions -> "
                    f"unreadable stream event: {data[:200]!r}"
                ) from None
            if isinstance(chunk, dict) and chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise OVHCloudAIServerError(
                    f"Request to OVHcloud AI Endpoints failed: POST /chat/completions -> error in stream: {message}",
                    service=self.service,
                    method="POST",
                    path="/chat/completions",
                )
            if isinstance(chunk, dict) and chunk.get("usage"):
                usage = chunk["usage"]
            collected.append(chunk)
            yield chunk
        if usage is None:
            log.warning("llm.stream.no_usage", model=model, hint="the endpoint ignored include_usage")
        self._report("chat", model, usage, started, messages, assemble_stream(collected), streamed=True)

    # ------------------------------------------------------------------ embeddings
    def create_embedding(
        self,
        model: str,
        input: str | list[str],
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Embed any number of texts: split into requests under the batch size and the 2 MB limit, keep the
        input order in ``data[].index``, sum ``usage``."""
        batch_size = int(kwargs.pop("batch_size", None) or self.embedding_batch_size or DEFAULT_EMBEDDING_BATCH_SIZE)
        _require_model(model)
        texts = [input] if isinstance(input, str) else input
        if not isinstance(texts, (list, tuple)) or not texts:
            raise OVHCloudAIValidationError("create_embedding needs 'input': a string or a non-empty list of strings")
        for position, text in enumerate(texts):
            if not isinstance(text, str):
                raise OVHCloudAIValidationError(
                    f"create_embedding input #{position} is {type(text).__name__}, expected a string"
                )
        if batch_size < 1:
            raise OVHCloudAIValidationError(f"batch_size must be at least 1, got {batch_size}")
        data: list[dict[str, Any]] = []
        usage_sum = {"prompt_tokens": 0, "total_tokens": 0}
        response_model = model
        for offset, batch in split_batches(list(texts), batch_size, MAX_REQUEST_BYTES - _ENVELOPE_BYTES):
            started = time.monotonic()
            body = {"model": model, "input": batch, **kwargs}
            response = self.client.request_json(
                "POST", "/embeddings", json_body=body, model=model, operation="embeddings"
            )
            items = response.get("data") if isinstance(response, dict) else None
            if not isinstance(items, list) or len(items) != len(batch):
                raise OVHCloudAIResponseError(
                    "Request to OVHcloud AI Endpoints failed: POST /embeddings -> "
                    f"expected {len(batch)} embeddings, got {len(items) if isinstance(items, list) else 'none'}"
                )
            for position, item in enumerate(sorted(items, key=lambda it: int(it.get("index", 0)))):
                data.append({**item, "index": offset + position})
            usage = response.get("usage") or {}
            usage_sum["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            usage_sum["total_tokens"] += int(usage.get("total_tokens") or usage.get("prompt_tokens") or 0)
            response_model = response.get("model") or response_model
            self._report("embeddings", model, usage, started, None, None, streamed=False)
        return {"object": "list", "data": data, "model": response_model, "usage": usage_sum}

    # ------------------------------------------------------------------ misc
    def list_models(self) -> list[dict[str, Any]]:
        response = self.client.request_json("GET", "/models")
        models = response.get("data") if isinstance(response, dict) else None
        if not isinstance(models, list):
            raise OVHCloudAIResponseError(
                "Request to OVHcloud AI Endpoints failed: GET /models -> answer without 'data'"
            )
        return models

    def test_connection(self) -> tuple[bool, str]:
        """Authenticated call listing models; never raises."""
        try:
            models = cast("OVHCloudAIEndpointsHook", self.probe()).list_models()
        except Exception as exc:
            return False, str(exc)
        return True, f"Connection to OVHcloud AI Endpoints successful: {len(models)} models available"

    # ------------------------------------------------------------------ internals
    def _chat_body(
        self,
        model: str,
        messages: list[dict[str, str]],
        temperature: float | None,
        max_tokens: int | None,
        top_p: float | None,
        stop: str | list[str] | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        _require_model(model)
        validate_messages(messages)
        if temperature is not None and not (0 <= float(temperature) <= 2):
            raise OVHCloudAIValidationError(f"temperature must be between 0 and 2, got {temperature}")
        if top_p is not None and not (0 <= float(top_p) <= 1):
            raise OVHCloudAIValidationError(f"top_p must be between 0 and 1, got {top_p}")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise OVHCloudAIValidationError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        body: dict[str, Any] = {"model": model, "messages": messages}
        for key, value in (("temperature", temperature), ("max_tokens", max_tokens), ("top_p", top_p), ("stop", stop)):
            if value is not None:
                body[key] = value
        extra.pop("stream", None)
        body.update(extra)
        return body

    def _report(
        self,
        operation: str,
        model: str,
        usage: dict[str, Any] | None,
        started: float,
        messages: list[dict[str, str]] | None,
        response: dict[str, Any] | None,
        *,
        streamed: bool,
    ) -> None:
        from ovhcloud_ai_provider.lineage.hook_lineage import report_inference_call
        from ovhcloud_ai_provider.observability import metrics
        from ovhcloud_ai_provider.observability.logging import log_prompts_enabled

        input_tokens = int((usage or {}).get("prompt_tokens") or 0)
        output_tokens = int((usage or {}).get("completion_tokens") or 0)
        cost = metrics.record_llm_usage(
            operation=operation, model=model, input_tokens=input_tokens, output_tokens=output_tokens
        )
        self.usage.add(model, usage, cost)
        fields: dict[str, Any] = {
            "gen_ai_operation_name": operation,
            "gen_ai_request_model": model,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": int((usage or {}).get("total_tokens") or input_tokens + output_tokens),
            "latency_s": round(time.monotonic() - started, 4),
            "cost_estimate": cost,
            "streamed": streamed,
        }
        if response and response.get("id"):
            fields["response_id"] = response["id"]
        if log_prompts_enabled() and messages is not None:
            fields["prompt"] = messages
            fields["completion"] = [c.get("message", {}).get("content") for c in (response or {}).get("choices", [])]
        log.info("llm.request.completed", **fields)
        report_inference_call(self, endpoint_base_url=self.base_url, model=model, operation=operation)


# ---------------------------------------------------------------------- pure helpers
def _require_model(model: Any) -> None:
    if not isinstance(model, str) or not model.strip():
        raise OVHCloudAIValidationError("'model' must be a non-empty model id, e.g. 'Mistral-7B-Instruct-v0.3'")


def validate_messages(messages: Any) -> None:
    """Refuse before the paid call what the API would refuse after it."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise OVHCloudAIValidationError("'messages' must be a non-empty list of {'role', 'content'} dicts")
    for position, message in enumerate(messages):
        if not isinstance(message, dict):
            raise OVHCloudAIValidationError(
                f"message #{position} is {type(message).__name__}, expected a dict with 'role' and 'content'"
            )
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool", "developer"):
            raise OVHCloudAIValidationError(f"message #{position} has an invalid role {role!r}")
        if "content" not in message and not message.get("tool_calls"):
            raise OVHCloudAIValidationError(f"message #{position} has no 'content'")


def split_batches(texts: Sequence[str], batch_size: int, max_bytes: int) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(offset, batch)`` pairs under both the item count and the serialized byte budget."""
    batch: list[str] = []
    size = 0
    offset = 0
    for position, text in enumerate(texts):
        item_bytes = len(json.dumps(text).encode("utf-8")) + 2
        if item_bytes > max_bytes:
            raise OVHCloudAIValidationError(
                f"embedding input #{position} is {item_bytes} bytes, over the 2 MB request limit of AI Endpoints"
            )
        if batch and (len(batch) >= batch_size or size + item_bytes > max_bytes):
            yield offset, batch
            offset += len(batch)
            batch, size = [], 0
        batch.append(text)
        size += item_bytes
    if batch:
        yield offset, batch


def assemble_stream(chunks: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> dict[str, Any]:
    """Fold ``chat.completion.chunk`` events into the dict a non-streamed call returns."""
    result: dict[str, Any] = {"id": None, "object": "chat.completion", "created": None, "model": None}
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        for key in ("id", "created", "model", "system_fingerprint"):
            if chunk.get(key) is not None and result.get(key) is None:
                result[key] = chunk[key]
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index", 0))
            slot = choices.setdefault(
                index, {"index": index, "message": {"role": "assistant", "content": ""}, "finish_reason": None}
            )
            delta = choice.get("delta") or {}
            if delta.get("role"):
                slot["message"]["role"] = delta["role"]
            if delta.get("content"):
                slot["message"]["content"] += delta["content"]
            for reasoning_key in ("reasoning_content", "reasoning"):
                if delta.get(reasoning_key):
                    slot["message"][reasoning_key] = slot["message"].get(reasoning_key, "") + delta[reasoning_key]
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]
    result["choices"] = [choices[i] for i in sorted(choices)]
    result["usage"] = usage
    return result
