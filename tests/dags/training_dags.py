"""DAGs the operator tests run through real Airflow (dag.test) against the emulator.

The emulator picks a job's fate from its ``emulator-scenario`` label, templated from the run's params.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from ovhcloud_ai_provider.operators.ai_training import (
    OVHCloudAITrainingSubmitJobOperator,
    OVHCloudAITrainingWaitForJobOperator,
)
from ovhcloud_ai_provider.sensors.ai_training import OVHCloudAITrainingJobSensor

PARAMS = {
    "scenario": Param("success", type="string"),
    "run_seconds": Param("2", type="string"),
    "secret": Param("s3cr3t-env-value-for-tests", type="string"),
    "job_id": Param("", type="string"),
}
START = datetime(2026, 1, 1)


def submit_task(dag: DAG, **overrides):
    kwargs = dict(
        task_id="submit",
        image="ovhcom/ai-training-pytorch:2.4.0",
        flavor="l4-1-gpu",
        gpu=1,
        env_vars={"EPOCHS": "2", "HF_TOKEN": "{{ params.secret }}"},
        labels={"emulator-scenario": "{{ params.scenario }}", "emulator-run-seconds": "{{ params.run_seconds }}"},
        wait_for_completion=True,
        check_interval=1,
        wait_timeout=120,
        dag=dag,
    )
    kwargs.update(overrides)
    return OVHCloudAITrainingSubmitJobOperator(**kwargs)


with DAG("ovhai_test_submit_sync", schedule=None, start_date=START, params=PARAMS) as submit_sync:
    submit_task(submit_sync, deferrable=False)

with DAG("ovhai_test_submit_deferred", schedule=None, start_date=START, params=PARAMS) as submit_deferred:
    submit_task(submit_deferred, deferrable=True)

with DAG("ovhai_test_submit_retry", schedule=None, start_date=START, params=PARAMS) as submit_retry:
    submit_task(
        submit_retry,
        deferrable=False,
        ovh_conn_id="ovh_training_no_retry",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )

with DAG("ovhai_test_submit_killed", schedule=None, start_date=START, params=PARAMS) as submit_killed:
    submit_task(submit_killed, deferrable=False, execution_timeout=timedelta(seconds=4))

with DAG("ovhai_test_wait_timeout_sync", schedule=None, start_date=START, params=PARAMS) as wait_timeout_sync:
    submit_task(wait_timeout_sync, deferrable=False, wait_timeout=2)

with DAG("ovhai_test_wait_timeout_deferred", schedule=None, start_date=START, params=PARAMS) as wait_timeout_deferred:
    submit_task(wait_timeout_deferred, deferrable=True, wait_timeout=2)

with DAG("ovhai_test_wait_timeout_keep", schedule=None, start_date=START, params=PARAMS) as wait_timeout_keep:
    submit_task(wait_timeout_keep, deferrable=False, wait_timeout=2, stop_on_timeout=False)

with DAG("ovhai_test_wait_operator", schedule=None, start_date=START, params=PARAMS) as wait_operator:
    OVHCloudAITrainingWaitForJobOperator(task_id="wait", job_id="{{ params.job_id }}", check_interval=1, deferrable=True)

with DAG("ovhai_test_sensor_poke", schedule=None, start_date=START, params=PARAMS) as sensor_poke:
    OVHCloudAITrainingJobSensor(task_id="sense", job_id="{{ params.job_id }}", poke_interval=1, timeout=60, deferrable=False)

with DAG("ovhai_test_sensor_deferred", schedule=None, start_date=START, params=PARAMS) as sensor_deferred:
    OVHCloudAITrainingJobSensor(task_id="sense", job_id="{{ params.job_id }}", poke_interval=1, timeout=60, deferrable=True)

with DAG("ovhai_test_job_admin", schedule=None, start_date=START, params=PARAMS) as job_admin:
    from ovhcloud_ai_provider.operators.ai_training import (
        OVHCloudAITrainingDeleteJobOperator,
        OVHCloudAITrainingGetJobOperator,
        OVHCloudAITrainingGetLogsOperator,
        OVHCloudAITrainingStopJobOperator,
    )

    (
        OVHCloudAITrainingGetJobOperator(task_id="get", job_id="{{ params.job_id }}")
        >> OVHCloudAITrainingStopJobOperator(task_id="stop", job_id="{{ params.job_id }}")
        >> OVHCloudAITrainingGetLogsOperator(task_id="logs", job_id="{{ params.job_id }}", tail=3)
        >> OVHCloudAITrainingDeleteJobOperator(task_id="delete", job_id="{{ params.job_id }}", force=True)
    )
