"""Training pipeline: submit a GPU job that reads a dataset bucket and writes a model bucket, wait for it
in the triggerer (no worker slot held), then fetch its logs.

Runs unchanged against OVHcloud or the local emulator (``make demo``); only the connection differs.
``OVHAI_EXAMPLE_CHECK_INTERVAL`` shortens polling for the emulator (30 s suits real jobs).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import DAG

from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.operators.ai_training import (
    OVHCloudAITrainingGetLogsOperator,
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)

CHECK_INTERVAL = int(os.environ.get("OVHAI_EXAMPLE_CHECK_INTERVAL", "30"))

with DAG(
    dag_id="ovhcloud_ai_training_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["ovhcloud", "ai-training", "example"],
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
    doc_md=__doc__,
) as dag:
    submit = OVHCloudAITrainingSubmitJobOperator(
        task_id="submit_training",
        image="ovhcom/ai-training-pytorch:2.4.0",
        name="resnet-{{ ds_nodash }}",
        command=["python", "train.py", "--epochs", "3"],
        flavor="l4-1-gpu",
        gpu=1,
        env_vars={
            "EPOCHS": "3",
            "WANDB_API_KEY": "{{ var.value.get('wandb_api_key', 'demo-wandb-secret-0123456789') }}",
        },
        volumes=[
            OVHCloudAITrainingHook.build_volume("training-data", "/workspace/data", prefix="mnist/", permission="RO"),
            OVHCloudAITrainingHook.build_volume("models", "/workspace/models", prefix="resnet/", permission="RW"),
        ],
        model_output_mount="/workspace/models",
        labels={"team": "vision"},
        job_timeout=6 * 3600,
    )

    wait = OVHCloudAITrainingWaitForJobOperator(
        task_id="wait_for_training",
        job_id="{{ ti.xcom_pull(task_ids='submit_training', key='ovh_job_id') }}",
        deferrable=True,
        check_interval=CHECK_INTERVAL,
        timeout=8 * 3600,
        model_output_mount="/workspace/models",
    )

    logs = OVHCloudAITrainingGetLogsOperator(
        task_id="training_logs",
        job_id="{{ ti.xcom_pull(task_ids='submit_training', key='ovh_job_id') }}",
        tail=50,
    )

    submit >> wait >> logs
