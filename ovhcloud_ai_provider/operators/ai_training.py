"""Operators for the AI Training job lifecycle: submit (and wait), wait, get, logs, stop, delete.

GPU jobs cost money by the minute and run for hours, so:
- submission is idempotent (see :mod:`.job_identity`): a retry reattaches to its job instead of paying twice;
- waiting can be deferred to the triggerer (no worker slot held), with the job checked once before deferring;
- a killed task or a timed-out wait stops its job unless the user opts out;
- new job log lines are copied into the task log while waiting, and the last ones into a failure's message.

This module imports only Airflow's SDK at import time: hooks, lineage and metrics load inside methods.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from ovhcloud_ai_provider.links.ai_training import OVHCloudAITrainingJobLink, persist_job_link

if TYPE_CHECKING:
    from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

#: Extra seconds Airflow waits past the trigger's own deadline before declaring the deferral timed out.
DEFER_TIMEOUT_MARGIN = 120
#: Job log lines quoted in the error of a failed job.
FAILURE_LOG_LINES = 20
#: How long a kill signal handler waits for the stop request before returning (the request still finishes).
KILL_STOP_WAIT_SECONDS = 10


def _default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class _TrainingOperator(BaseOperator):
    """Connection handling shared by every AI Training operator."""

    def __init__(self, *, ovh_conn_id: str = "ovh_ai_training_default", region: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.ovh_conn_id = ovh_conn_id
        self.region = region

    @cached_property
    def hook(self) -> OVHCloudAITrainingHook:
        from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    def _observed(self, context: Any) -> Any:
        from ovhcloud_ai_provider.observability.context import task_observability

        return task_observability(context)

    # -- OpenLineage for tasks acting on an existing job: the job they touched, no datasets.
    def get_openlineage_facets_on_start(self) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import job_reference_lineage

        return job_reference_lineage(job_id=getattr(self, "job_id", None), region=self.region)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import job_reference_lineage

        return job_reference_lineage(
            job_id=getattr(self, "job_id", None), job=getattr(self, "_job", None), region=self.region
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import job_reference_lineage

        return job_reference_lineage(
            job_id=getattr(self, "job_id", None),
            job=getattr(self, "_job", None),
            region=self.region,
            error=f"{type(self).__name__} failed on AI Training job {getattr(self, 'job_id', None)}",
        )


class _JobWaitMixin(_TrainingOperator):
    """Waiting for a job, synchronously or deferred; shared by submit(wait=True) and the wait operator."""

    target_states: list[str] | None
    failure_states: list[str] | None
    check_interval: float
    deferrable: bool
    stop_on_timeout: bool
    stop_on_kill: bool
    stream_logs: bool
    job_id: str | None
    _job: dict[str, Any] | None

    def _wait_timeout(self) -> float:
        raise NotImplementedError

    def _wait(self, context: Any, job: dict[str, Any]) -> dict[str, Any]:
        """Wait for ``job``: checks it once, then defers or polls here. Returns the redacted final Job."""
        from ovhcloud_ai_provider.hooks.ai_training import classify_state, observe_finished_job
        from ovhcloud_ai_provider.hooks.job_states import resolve_state_sets
        from ovhcloud_ai_provider.hooks.job_view import job_state, redact_job

        job_id = str(job["id"])
        self.job_id = job_id
        targets, failures = resolve_state_sets(self.target_states, self.failure_states)
        outcome = classify_state(job_state(job), targets, failures)
        if outcome != "running":
            # Already terminal: no deferral, no polling (SageMaker PR #36685 pattern).
            observe_finished_job(job)
            return self._finish(job, outcome)
        if self.deferrable:
            self._defer_wait(job_id)
        tailer = self._new_tailer()
        try:
            final = self.hook.wait_for_job(
                job_id,
                target_states=sorted(targets),
                failure_states=sorted(failures),
                check_interval=int(self.check_interval) or 1,
                timeout=int(self._wait_timeout()),
                on_poll=(lambda _job: self._print_logs(job_id, tailer)) if self.stream_logs else None,
            )
        except Exception as exc:
            from ovhcloud_ai_provider.exceptions import (
                OVHCloudAITrainingJobFailedError,
                OVHCloudAITrainingJobTimeoutError,
            )

            if isinstance(exc, OVHCloudAITrainingJobFailedError):
                self._job = redact_job(exc.job)
                raise self._with_last_logs(exc) from None
            if isinstance(exc, OVHCloudAITrainingJobTimeoutError) and self.stop_on_timeout:
                self._stop_quietly(job_id, reason="wait timeout")
            raise
        self._job = redact_job(final)
        return self._job

    def _defer_wait(self, job_id: str) -> None:
        from ovhcloud_ai_provider.triggers.ai_training import OVHCloudAITrainingJobTrigger

        timeout = self._wait_timeout()
        self.defer(
            trigger=OVHCloudAITrainingJobTrigger(
                job_id=job_id,
                ovh_conn_id=self.ovh_conn_id,
                region=self.region,
                target_states=self.target_states,
                failure_states=self.failure_states,
                check_interval=self.check_interval,
                end_time=time.time() + timeout,
                stop_on_timeout=self.stop_on_timeout,
                stop_on_kill=self.stop_on_kill,
                stream_logs=self.stream_logs,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout + DEFER_TIMEOUT_MARGIN),
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resume after the trigger: a fresh operator instance, so everything comes from the event."""
        from ovhcloud_ai_provider.exceptions import OVHCloudAIError, OVHCloudAITrainingJobTimeoutError
        from ovhcloud_ai_provider.hooks.ai_training import job_failed_error, observe_finished_job
        from ovhcloud_ai_provider.hooks.job_view import redact_job
        from ovhcloud_ai_provider.triggers.ai_training import EVENT_STATUSES

        with self._observed(context):
            if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES or not event.get("job_id"):
                raise OVHCloudAIError(f"Invalid event from the AI Training trigger: {event!r}")
            self.job_id = str(event["job_id"])
            status = event["status"]
            if status == "timeout":
                raise OVHCloudAITrainingJobTimeoutError(
                    f"Timeout waiting for AI Training job {self.job_id} after {self._wait_timeout():g}s "
                    f"(last state: {event.get('state') or 'unknown'}"
                    + ("; the job was stopped)" if event.get("stopped") else ")"),
                    job_id=self.job_id,
                    state=str(event.get("state") or ""),
                )
            if status == "error":
                raise OVHCloudAIError(
                    f"Waiting for AI Training job {self.job_id} failed: {event.get('message')}"
                )
            job = event.get("job") or self.hook.get_job(self.job_id)
            observe_finished_job(job)
            if status == "failure":
                self._job = redact_job(job)
                raise self._with_last_logs(job_failed_error(job))
            return self._finish(job, "success")

    def _finish(self, job: dict[str, Any], outcome: str) -> dict[str, Any]:
        from ovhcloud_ai_provider.hooks.ai_training import job_failed_error
        from ovhcloud_ai_provider.hooks.job_view import redact_job

        self._job = redact_job(job)
        if outcome == "failure":
            raise self._with_last_logs(job_failed_error(job))
        return self._job

    def _with_last_logs(self, error: Exception) -> Exception:
        """Append the job's last log lines to a failure, where the user looks first."""
        job_id = getattr(error, "job_id", None) or self.job_id
        try:
            tail = self.hook.get_job_logs(str(job_id), tail=FAILURE_LOG_LINES).strip()
        except Exception:
            tail = ""
        if tail:
            error.args = (f"{error.args[0]}\nLast {FAILURE_LOG_LINES} log lines of the job:\n{tail}",)
        return error

    def _new_tailer(self) -> Any:
        from ovhcloud_ai_provider.hooks.log_tail import LogTailer

        return LogTailer()

    def _print_logs(self, job_id: str, tailer: Any) -> None:
        from ovhcloud_ai_provider.hooks.log_tail import DEFAULT_TAIL_LINES

        try:
            text = self.hook.get_job_logs(job_id, tail=DEFAULT_TAIL_LINES)
        except Exception as exc:
            self.log.warning("training_job.logs_unavailable", ovh_job_id=job_id, error=str(exc))
            return
        for line in tailer.new_lines(text):
            self.log.info(f"[ovh job {job_id[:8]}] {line}")

    def _stop_quietly(self, job_id: str, reason: str, hook: Any = None) -> None:
        try:
            (hook or self.hook).stop_job(job_id)
            self.log.info("training_job.stopped", ovh_job_id=job_id, reason=reason)
        except Exception as exc:
            self.log.warning("training_job.stop_failed", ovh_job_id=job_id, reason=reason, error=str(exc))

    def on_kill(self) -> None:
        """SIGTERM on the worker (user kill, execution_timeout): stop the job we are waiting for.

        Airflow calls this from a signal handler, on the main thread, possibly while that thread holds a
        lock (the HTTP connection pool's, the metrics files'). So the stop request runs in its own thread on
        its own HTTP session; a non-daemon thread, so the process does not exit before the job is stopped.
        """
        if not (self.stop_on_kill and getattr(self, "job_id", None)):
            return
        import threading

        job_id = str(self.job_id)
        hook = self.hook.detached()
        stopper = threading.Thread(
            target=self._stop_quietly, args=(job_id, "task killed", hook), name=f"ovh-stop-{job_id[:8]}", daemon=False
        )
        stopper.start()
        stopper.join(timeout=KILL_STOP_WAIT_SECONDS)

    # -- OpenLineage
    def _lineage_spec(self) -> dict[str, Any]:
        return {}

    def get_openlineage_facets_on_start(self) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import training_lineage

        return training_lineage(spec=self._lineage_spec(), region=self.region, model_output_mount=self._model_mount())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import training_lineage

        job = getattr(self, "_job", None) or self._job_from_xcom(task_instance)
        spec = (job or {}).get("spec") or self._lineage_spec()
        return training_lineage(
            spec=spec, job=job, region=self.region, api_url=self._api_url(), model_output_mount=self._model_mount()
        )

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        from ovhcloud_ai_provider.lineage.operator_lineage import training_lineage

        job = getattr(self, "_job", None) or self._job_from_xcom(task_instance)
        spec = (job or {}).get("spec") or self._lineage_spec()
        state = ((job or {}).get("status") or {}).get("state")
        return training_lineage(
            spec=spec,
            job=job,
            region=self.region,
            api_url=self._api_url(),
            model_output_mount=self._model_mount(),
            error=f"AI Training job {getattr(self, 'job_id', None)} ended in state {state}" if job else "task failed",
        )

    def _model_mount(self) -> str | None:
        return getattr(self, "model_output_mount", None)

    def _api_url(self) -> str | None:
        try:
            return self.hook.base_url
        except Exception:
            return None

    def _job_from_xcom(self, task_instance: Any) -> dict[str, Any] | None:
        """After a deferral, lineage runs on the resumed instance; if it did not get far, ask the API."""
        job_id = getattr(self, "job_id", None)
        if not job_id and task_instance is not None:
            try:
                from ovhcloud_ai_provider.links.ai_training import XCOM_JOB_ID_KEY

                job_id = task_instance.xcom_pull(task_ids=task_instance.task_id, key=XCOM_JOB_ID_KEY)
            except Exception:
                job_id = None
        if not job_id:
            return None
        try:
            from ovhcloud_ai_provider.hooks.job_view import redact_job

            return redact_job(self.hook.get_job(str(job_id)))
        except Exception:
            return None


class OVHCloudAITrainingSubmitJobOperator(_JobWaitMixin):
    """Submit an AI Training job, optionally waiting for it (deferrable).

    Seed arguments keep their names and defaults. Additions:

    :param deferrable: wait in the triggerer instead of a worker slot (default ``[operators] default_deferrable``).
    :param reattach: find this task instance's job by its labels and reattach instead of submitting again
        (set ``False`` to always submit a fresh job).
    :param target_states / failure_states: as for the wait operator.
    :param stop_on_timeout: stop the job when ``wait_timeout`` is reached (default ``True``).
    :param stop_on_kill: stop the job when the task is killed (default ``True``).
    :param stream_logs: copy new job log lines into the task log while waiting.
    :param model_output_mount: mount path of the volume the job writes its model to (lineage marks it MODEL).
    """

    template_fields: Sequence[str] = ("image", "name", "command", "env_vars", "labels", "volumes", "flavor")
    operator_extra_links = (OVHCloudAITrainingJobLink(),)
    ui_color = "#123f6d"
    ui_fgcolor = "#ffffff"

    def __init__(
        self,
        *,
        image: str,
        ovh_conn_id: str = "ovh_ai_training_default",
        region: str | None = None,
        name: str | None = None,
        command: list[str] | None = None,
        env_vars: dict[str, str] | None = None,
        gpu: int = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        flavor: str | None = None,
        volumes: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        ssh_public_keys: list[str] | None = None,
        default_http_port: int | None = None,
        job_timeout: int | None = None,
        unsecure_http: bool = False,
        wait_for_completion: bool = False,
        check_interval: int = 30,
        wait_timeout: int = 3600,
        deferrable: bool | None = None,
        reattach: bool = True,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        stop_on_timeout: bool = True,
        stop_on_kill: bool = True,
        stream_logs: bool = True,
        model_output_mount: str | None = None,
        timeout_auto_restart: bool | None = None,
        read_user: str | None = None,
        shutdown: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        self.image = image
        self.name = name
        self.command = command
        self.env_vars = env_vars
        self.gpu = gpu
        self.gpu_model = gpu_model
        self.cpu = cpu
        self.flavor = flavor
        self.volumes = volumes
        self.labels = labels
        self.ssh_public_keys = ssh_public_keys
        self.default_http_port = default_http_port
        self.job_timeout = job_timeout
        self.unsecure_http = unsecure_http
        self.wait_for_completion = wait_for_completion
        self.check_interval = check_interval
        self.wait_timeout = wait_timeout
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.reattach = reattach
        self.target_states = target_states
        self.failure_states = failure_states
        self.stop_on_timeout = stop_on_timeout
        self.stop_on_kill = stop_on_kill
        self.stream_logs = stream_logs
        self.model_output_mount = model_output_mount
        self.timeout_auto_restart = timeout_auto_restart
        self.read_user = read_user
        self.shutdown = shutdown
        self.job_id: str | None = None
        self._job: dict[str, Any] | None = None

    def _wait_timeout(self) -> float:
        return float(self.wait_timeout)

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Register rendered env var values with Airflow's masker before the rendered fields are stored
        and shown in the UI: env values of jobs are often credentials."""
        super().render_template_fields(context, jinja_env)
        from ovhcloud_ai_provider.observability.logging import register_secret

        for value in (self.env_vars or {}).values() if isinstance(self.env_vars, dict) else []:
            register_secret(str(value))

    def build_spec(self, context: Any = None) -> dict[str, Any]:
        """The JobSpec this task sends, identity labels included; validated before any paid call."""
        from ovhcloud_ai_provider.hooks.ai_training import build_job_spec
        from ovhcloud_ai_provider.operators.job_identity import LABEL_SPEC, identity_labels, spec_fingerprint

        spec = build_job_spec(
            image=self.image,
            default_http_port=self.default_http_port,
            name=self.name,
            command=self.command,
            env_vars=self.env_vars,
            gpu=self.gpu,
            gpu_model=self.gpu_model,
            cpu=self.cpu,
            flavor=self.flavor,
            volumes=self.volumes,
            labels={**(self.labels or {}), **(identity_labels(context) if context is not None else {})},
            ssh_public_keys=self.ssh_public_keys,
            timeout=self.job_timeout,
            timeout_auto_restart=self.timeout_auto_restart,
            unsecure_http=self.unsecure_http,
            read_user=self.read_user,
            shutdown=self.shutdown,
        )
        if context is not None and spec.get("labels"):
            spec["labels"][LABEL_SPEC] = spec_fingerprint(spec)
        return spec

    def _lineage_spec(self) -> dict[str, Any]:
        try:
            return self.build_spec()
        except Exception:
            return {"image": self.image, "volumes": self.volumes or []}

    def execute(self, context: Any) -> dict[str, Any]:
        from ovhcloud_ai_provider.hooks.job_view import redact_job

        with self._observed(context):
            spec = self.build_spec(context)
            job = self._find_reusable_job(spec) if self.reattach else None
            if job is None:
                job = self.hook.submit_job_spec(spec)
                self.log.info(
                    "training_job.submitted",
                    ovh_job_id=job["id"],
                    info_url=(job.get("status") or {}).get("infoUrl"),
                )
            self.job_id = str(job["id"])
            self._job = redact_job(job)
            persist_job_link(context, job)
            if not self.wait_for_completion:
                return self._job
            return self._wait(context, job)

    def _find_reusable_job(self, spec: dict[str, Any]) -> dict[str, Any] | None:
        """This task instance's job with the same spec, if one is running or succeeded."""
        from ovhcloud_ai_provider.hooks.ai_training import classify_state
        from ovhcloud_ai_provider.hooks.job_states import resolve_state_sets
        from ovhcloud_ai_provider.hooks.job_view import job_state
        from ovhcloud_ai_provider.operators.job_identity import LABEL_SPEC, LABEL_TASK_INSTANCE

        labels = spec.get("labels") or {}
        if LABEL_TASK_INSTANCE not in labels:
            return None
        selector = {LABEL_TASK_INSTANCE: labels[LABEL_TASK_INSTANCE], LABEL_SPEC: labels[LABEL_SPEC]}
        targets, failures = resolve_state_sets(self.target_states, self.failure_states)
        for job in self.hook.find_jobs(selector):
            state = job_state(job)
            outcome = classify_state(state, targets, failures)
            if outcome == "failure":
                continue
            self.log.info("training_job.reattached", ovh_job_id=job.get("id"), state=state)
            return job
        return None


class OVHCloudAITrainingWaitForJobOperator(_JobWaitMixin):
    """Wait for a job to reach a target state; deferrable, stops the job on timeout unless told not to."""

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
        check_interval: int = 30,
        timeout: int = 3600,
        deferrable: bool | None = None,
        stop_on_timeout: bool = True,
        stop_on_kill: bool = True,
        stream_logs: bool = True,
        model_output_mount: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        self.job_id = job_id
        self.target_states = target_states
        self.failure_states = failure_states
        self.check_interval = check_interval
        self.wait_timeout = timeout
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.stop_on_timeout = stop_on_timeout
        self.stop_on_kill = stop_on_kill
        self.stream_logs = stream_logs
        self.model_output_mount = model_output_mount
        self._job = None

    def _wait_timeout(self) -> float:
        return float(self.wait_timeout)

    def execute(self, context: Any) -> dict[str, Any]:
        with self._observed(context):
            job = self.hook.get_job(str(self.job_id))
            persist_job_link(context, job)
            return self._wait(context, job)


class _ExistingJobOperator(_TrainingOperator):
    """An operator acting on one existing job, named by its (templated) id."""

    template_fields: Sequence[str] = ("job_id",)

    def __init__(
        self, *, job_id: str, ovh_conn_id: str = "ovh_ai_training_default", region: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, region=region, **kwargs)
        self.job_id = job_id
        self._job: dict[str, Any] | None = None


class OVHCloudAITrainingGetJobOperator(_ExistingJobOperator):
    """Return a job (env var values redacted: XCom is not a place for secrets)."""

    def execute(self, context: Any) -> dict[str, Any]:
        from ovhcloud_ai_provider.hooks.job_view import redact_job

        with self._observed(context):
            self._job = redact_job(self.hook.get_job(str(self.job_id)))
            return self._job


class OVHCloudAITrainingStopJobOperator(_ExistingJobOperator):
    """Stop a job (``PUT /kill``); returns ``{}`` (204) or the Job (200)."""

    def execute(self, context: Any) -> dict[str, Any]:
        from ovhcloud_ai_provider.hooks.job_view import redact_job

        with self._observed(context):
            result = self.hook.stop_job(str(self.job_id))
            if result.get("spec"):
                self._job = redact_job(result)
                return self._job
            return result


class OVHCloudAITrainingDeleteJobOperator(_ExistingJobOperator):
    """Delete a job permanently. ``force=True`` deletes a job that is still running."""

    def __init__(self, *, job_id: str, force: bool = False, **kwargs: Any) -> None:
        super().__init__(job_id=job_id, **kwargs)
        self.force = force

    def execute(self, context: Any) -> dict[str, Any]:
        with self._observed(context):
            return self.hook.delete_job(str(self.job_id), force=self.force)


class OVHCloudAITrainingGetLogsOperator(_ExistingJobOperator):
    """Return a job's logs as text (``tail`` lines from the end when given)."""

    def __init__(self, *, job_id: str, tail: int | None = None, **kwargs: Any) -> None:
        super().__init__(job_id=job_id, **kwargs)
        self.tail = tail

    def execute(self, context: Any) -> str:
        with self._observed(context):
            text = self.hook.get_job_logs(str(self.job_id), tail=self.tail)
            self.log.info("training_job.logs_fetched", ovh_job_id=self.job_id, lines=len(text.splitlines()))
            return text
