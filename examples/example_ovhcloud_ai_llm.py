"""LLM pipeline: one chat completion per question (dynamic task mapping), embeddings of a few hundred
documents in batched requests, then a usage report read from the ``usage`` XComs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from ovhcloud_ai_provider.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)

CHAT_MODEL = "Mistral-7B-Instruct-v0.3"
EMBEDDING_MODEL = "bge-multilingual-gemma2"
QUESTIONS = [
    "What is a GPU flavor in OVHcloud AI Training?",
    "Summarise the benefits of Object Storage volumes for training data.",
    "Explain rate limits of AI Endpoints in one sentence.",
]
DOCUMENTS = [f"Document {i}: notes about dataset shard {i % 17} and model checkpoint {i // 10}." for i in range(300)]

with DAG(
    dag_id="ovhcloud_ai_llm_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ovhcloud", "ai-endpoints", "example"],
    doc_md=__doc__,
) as dag:
    answers = OVHCloudAIEndpointsChatCompletionsOperator.partial(
        task_id="answer_question",
        model=CHAT_MODEL,
        temperature=0.2,
        max_tokens=256,
    ).expand(messages=[[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": q}] for q in QUESTIONS])

    embeddings = OVHCloudAIEndpointsEmbeddingOperator(
        task_id="embed_documents",
        model=EMBEDDING_MODEL,
        input=DOCUMENTS,
        batch_size=64,
    )

    @task
    def usage_report(**context: Any) -> dict[str, Any]:
        """Sum the token usage every inference task pushed to XCom under ``usage``."""
        ti = context["ti"]
        chat_usage = ti.xcom_pull(task_ids="answer_question", key="usage", map_indexes=list(range(len(QUESTIONS))))
        embed_usage = ti.xcom_pull(task_ids="embed_documents", key="usage")
        rows = [u for u in [*(chat_usage or []), embed_usage] if u]
        report = {
            "requests": sum(u["requests"] for u in rows),
            "total_tokens": sum(u["total_tokens"] for u in rows),
            "estimated_cost": round(sum(u["estimated_cost"] or 0.0 for u in rows), 8),
        }
        print(f"LLM usage report: {report}")
        return report

    [answers, embeddings] >> usage_report()
