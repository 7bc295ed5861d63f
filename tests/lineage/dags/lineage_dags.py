"""DAGs the end-to-end lineage tests run through real Airflow + the OpenLineage provider (HTTP transport).

``ovhai_lineage_pipeline``: ``prepare`` (a ``@task`` calling the hooks: hook-level lineage) writes
``s3://prepared/v1`` -> ``train`` (submit operator) reads it and writes the model ``swift://gra/models/resnet``
-> ``ask`` (chat operator) and ``embed`` (embedding operator) use served models.
``ovhai_lineage_fail``: a training job that fails (FAIL event with ``errorMessage``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.operators.ai_endpoints import (
    OVHCloudAIEndpointsChatCompletionsOperator,
    OVHCloudAIEndpointsEmbeddingOperator,
)
from ovhcloud_ai_provider.operators.ai_training import OVHCloudAITrainingSubmitJobOperator

ENV_SECRET = "s3cr3t-VALUE-never-in-lineage"
PROMPT = "PROMPT-TEXT-never-in-lineage: tell me a secret"
START = datetime(2026, 1, 1)
build_volume = OVHCloudAITrainingHook.build_volume

with DAG("ovhai_lineage_pipeline", schedule=None, start_date=START, catchup=False) as pipeline:

    @task
    def prepare() -> str:
        from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook

        OVHCloudAIEndpointsHook().chat_completion(
            model="Llama-3.1-8B-Instruct", messages=[{"role": "user", "content": PROMPT}], max_tokens=8
        )
        job = OVHCloudAITrainingHook().submit_job(
            image="ovhcom/ai-training-pytorch:2.4.0",
            cpu=2,
            env_vars=[{"name": "HF_TOKEN", "value": ENV_SECRET}],
            volumes=[
                build_volume("raw-data", "/in", alias="S3GRA", prefix="images/", permission="RO"),
                build_volume("prepared", "/out", alias="S3GRA", prefix="v1", permission="RW"),
            ],
            labels={"emulator-scenario": "success"},
        )
        return str(job["id"])

    train = OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="ovhcom/ai-training-pytorch:2.4.0",
        name="resnet",
        command=["python", "train.py", "--prompt", PROMPT],
        flavor="l4-1-gpu",
        gpu=1,
        env_vars={"EPOCHS": "2", "HF_TOKEN": ENV_SECRET},
        labels={"team": "vision", "emulator-scenario": "success", "emulator-run-seconds": "1"},
        volumes=[
            build_volume("prepared", "/workspace/data", alias="S3GRA", prefix="v1", permission="RO"),
            build_volume("models", "/workspace/models", alias="GRA", prefix="resnet/", permission="RW"),
        ],
        model_output_mount="/workspace/models",
        wait_for_completion=True,
        deferrable=False,
        check_interval=1,
        wait_timeout=120,
    )

    ask = OVHCloudAIEndpointsChatCompletionsOperator(
        task_id="ask",
        model="Mistral-7B-Instruct-v0.3",
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=16,
    )

    embed = OVHCloudAIEndpointsEmbeddingOperator(
        task_id="embed", model="BGE-M3", input=[PROMPT, "second text"]
    )

    prepare() >> train >> [ask, embed]


with DAG("ovhai_lineage_fail", schedule=None, start_date=START, catchup=False) as failing:
    OVHCloudAITrainingSubmitJobOperator(
        task_id="train",
        image="ovhcom/ai-training-pytorch:2.4.0",
        gpu=1,
        env_vars={"HF_TOKEN": ENV_SECRET},
        labels={"emulator-scenario": "fail", "emulator-run-seconds": "1"},
        volumes=[build_volume("prepared", "/workspace/data", alias="S3GRA", prefix="v1", permission="RO")],
        wait_for_completion=True,
        deferrable=False,
        check_interval=1,
        wait_timeout=120,
        reattach=False,
    )
