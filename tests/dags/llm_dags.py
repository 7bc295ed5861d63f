"""AI Endpoints DAGs for the operator tests (the example LLM DAG covers the happy path)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from ovhcloud_ai_provider.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)

with DAG("ovhai_test_llm_calls", schedule=None, start_date=datetime(2026, 1, 1)) as llm_calls:
    OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="chat_streamed",
        model="Mistral-7B-Instruct-v0.3",
        messages=[{"role": "user", "content": "Stream a short answer please"}],
        stream=True,
    )
    OVHCloudAIEndpointsEmbeddingOperator(task_id="embed", model="BGE-M3", input=[f"text {i}" for i in range(10)], batch_size=4)
