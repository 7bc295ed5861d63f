"""Operators for OVHcloud AI Endpoints: chat completions and embeddings.

Both return the API's answer (XCom-serialisable) and push the call's token usage to XCom under ``usage``,
so a downstream task or a cost report can read it without parsing the answer. They map cleanly:
``.partial(model=...).expand(messages=[...])``.

Only Airflow's SDK is imported at module import time; the hook, metrics and lineage load inside methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

if TYPE_CHECKING:
    from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook

XCOM_USAGE_KEY = "usage"


class _EndpointsOperator(BaseOperator):
    """Hook, usage reporting and lineage shared by the AI Endpoints operators."""

    operation: str = ""
    model: str

    def __init__(self, *, ovh_conn_id: str = "ovh_ai_endpoints_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ovh_conn_id = ovh_conn_id

    @cached_property
    def hook(self) -> OVHCloudAIEndpointsHook:
        from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook

        return OVHCloudAIEndpointsHook(ovh_conn_id=self.ovh_conn_id)

    def _run(self, context: Any, call: Any) -> dict[str, Any]:
        from ovhcloud_ai_provider.observability.context import task_observability

        with task_observability(context):
            try:
                result: dict[str, Any] = call()
            finally:
                # Usage is pushed on failure too: tokens spent before an error still cost money.
                self._push_usage(context)
        return result

    def _push_usage(self, context: Any) -> None:
        ti = context.get("ti") if hasattr(context, "get") else None
        usage = {**self.hook.usage.as_dict(), "model": self.model, "operation": self.operation}
        if ti is not None:
            try:
                ti.xcom_push(key=XCOM_USAGE_KEY, value=usage)
            except Exception as exc:
                self.log.warning("llm.usage_not_pushed", error=str(exc))

    def _endpoint(self) -> str:
        try:
            return self.hook.base_url
        except Exception:
            from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook

            return OVHCloudAIEndpointsHook.BASE_URL

    # -- OpenLineage: the model is known before execute; usage after it.
    def get_openlineage_facets_on_start(self) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import inference_lineage

        return inference_lineage(endpoint_base_url=self._endpoint(), model=self.model, operation=self.operation)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import inference_lineage
        from ovhcloud_ai_provider.observability.pricing import currency

        totals = self.hook.usage
        return inference_lineage(
            endpoint_base_url=self._endpoint(),
            model=self.model,
            operation=self.operation,
            usage={
                "prompt_tokens": totals.prompt_tokens,
                "completion_tokens": totals.completion_tokens,
                "total_tokens": totals.total_tokens,
            },
            request_count=totals.requests,
            estimated_cost=totals.estimated_cost,
            currency=currency() if totals.estimated_cost is not None else None,
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self.get_openlineage_facets_on_complete(task_instance)


class OVHCloudAIEndpointsChatCompletionsOperator(_EndpointsOperator):
    """Create a chat completion and return the API's answer (streamed answers are assembled).

    :param model: model id, e.g. ``Mistral-7B-Instruct-v0.3`` (templated).
    :param messages: ``[{"role": ..., "content": ...}]`` (templated; mappable).
    :param extra_body: further OpenAI-compatible parameters (``seed``, ``response_format``, ...).
    """

    template_fields: Sequence[str] = ("model", "messages")
    template_fields_renderers = {"messages": "json"}
    operation = "chat"

    def __init__(
        self,
        *,
        model: str,
        messages: list[dict[str, str]],
        ovh_conn_id: str = "ovh_ai_endpoints_default",
        temperature: float = 1.0,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        stream: bool = False,
        extra_body: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, **kwargs)
        self.model = model
        self.messages = messages
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.top_p = top_p
        self.stop = stop
        self.stream = stream
        self.extra_body = extra_body or {}

    def execute(self, context: Any) -> dict[str, Any]:
        return self._run(
            context,
            lambda: self.hook.chat_completion(
                model=self.model,
                messages=self.messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                top_p=self.top_p,
                stream=self.stream,
                stop=self.stop,
                **self.extra_body,
            ),
        )


class OVHCloudAIEndpointsEmbeddingOperator(_EndpointsOperator):
    """Embed one or many texts (batched under the request limits) and return the API-shaped answer.

    :param model: embedding model id, e.g. ``bge-multilingual-gemma2`` (templated).
    :param input: a text or a list of texts (templated; mappable).
    :param batch_size: most texts per request (default from the connection, else 64).
    """

    template_fields: Sequence[str] = ("model", "input")
    operation = "embeddings"

    def __init__(
        self,
        *,
        model: str,
        input: str | list[str],
        ovh_conn_id: str = "ovh_ai_endpoints_default",
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, **kwargs)
        self.model = model
        self.input = input
        self.batch_size = batch_size

    def execute(self, context: Any) -> dict[str, Any]:
        extra = {"batch_size": self.batch_size} if self.batch_size else {}
        return self._run(context, lambda: self.hook.create_embedding(model=self.model, input=self.input, **extra))
