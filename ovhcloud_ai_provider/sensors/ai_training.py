"""Sensor for AI Training jobs started elsewhere (another DAG, the CLI, the UI).

It never stops the job it watches: not on timeout, not on kill. That job is not ours.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue, conf

from ovhcloud_ai_provider.links.ai_training import OVHCloudAITrainingJobLink


class OVHCloudAITrainingJobSensor(BaseSensorOperator):
    """Wait until a job reaches one of ``target_states``; fail at once on a failure state.

    :param job_id: the job to watch (templated).
    :param target_states: success states (default ``["DONE"]``).
    :param failure_states: failure states (default FAILED, ERROR, INTERRUPTED, SYNC_FAILED, minus targets).
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("job_id",)
    operator_extra_links = (OVHCloudAITrainingJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        ovh_conn_id: str = "ovh_ai_training_default",
        region: str | None = None,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.ovh_conn_id = ovh_conn_id
        self.region = region
        self.target_states = target_states
        self.failure_states = failure_states
        self.deferrable = (
            conf.getboolean("operators", "default_deferrable", fallback=False) if deferrable is None else deferrable
        )
        self._job: dict[str, Any] | None = None

    def _hook(self) -> Any:
        from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from ovhcloud_ai_provider.observability.context import task_observability
        from ovhcloud_ai_provider.triggers.ai_training import OVHCloudAITrainingJobTrigger

        with task_observability(context):
            if self.poke(context).is_done:
                return self._job
            self.defer(
                trigger=OVHCloudAITrainingJobTrigger(
                    job_id=str(self.job_id),
                    ovh_conn_id=self.ovh_conn_id,
                    region=self.region,
                    target_states=self.target_states,
                    failure_states=self.failure_states,
                    check_interval=float(self.poke_interval),
                    end_time=time.time() + float(self.timeout),
                    stop_on_timeout=False,
                    stop_on_kill=False,
                    stream_logs=False,
                ),
                method_name="execute_complete",
                timeout=timedelta(seconds=float(self.timeout) + 120),
            )
        return None

    def poke(self, context: Any) -> PokeReturnValue:
        """Done on a target state, with the (redacted) Job as the sensor's XCom in every mode."""
        from ovhcloud_ai_provider.hooks.ai_training import classify_state, job_failed_error
        from ovhcloud_ai_provider.hooks.job_states import resolve_state_sets
        from ovhcloud_ai_provider.hooks.job_view import job_state, redact_job
        from ovhcloud_ai_provider.links.ai_training import persist_job_link

        targets, failures = resolve_state_sets(self.target_states, self.failure_states)
        job = self._hook().get_job(str(self.job_id))
        if self._job is None:
            persist_job_link(context, job)
        self._job = redact_job(job)
        state = job_state(job)
        self.log.info("training_job.poked", ovh_job_id=self.job_id, state=state)
        outcome = classify_state(state, targets, failures)
        if outcome == "failure":
            raise job_failed_error(job)
        return PokeReturnValue(is_done=outcome == "success", xcom_value=self._job)

    # -- OpenLineage: the watched job's datasets and state, as for the wait operator.
    def get_openlineage_facets_on_start(self) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import job_reference_lineage

        return job_reference_lineage(job_id=str(self.job_id), region=self.region)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage(error=None)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage(error=f"AI Training job {self.job_id} did not reach {self.target_states or ['DONE']}")

    def _lineage(self, error: str | None) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import job_reference_lineage, training_lineage

        job = self._job
        if not job:
            return job_reference_lineage(job_id=str(self.job_id), region=self.region, error=error)
        return training_lineage(spec=job.get("spec") or {}, job=job, region=self.region, error=error)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any] | None:
        from ovhcloud_ai_provider.exceptions import OVHCloudAIError, OVHCloudAITrainingJobTimeoutError
        from ovhcloud_ai_provider.hooks.ai_training import job_failed_error
        from ovhcloud_ai_provider.triggers.ai_training import EVENT_STATUSES

        if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
            raise OVHCloudAIError(f"Invalid event from the AI Training trigger: {event!r}")
        status = event["status"]
        self._job = event.get("job") or None
        if status == "success":
            return event.get("job")
        if status == "failure":
            raise job_failed_error(event.get("job") or {"id": event.get("job_id"), "status": {"state": event.get("state")}})
        if status == "timeout":
            raise OVHCloudAITrainingJobTimeoutError(
                f"Timeout waiting for AI Training job {event.get('job_id')} (last state: {event.get('state')})",
                job_id=str(event.get("job_id")),
                state=str(event.get("state") or ""),
            )
        raise OVHCloudAIError(f"Watching AI Training job {event.get('job_id')} failed: {event.get('message')}")
