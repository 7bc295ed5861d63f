"""Deferrable wait for an AI Training job, run by the triggerer.

The trigger polls through the same hook and client as the worker, each blocking call in a thread
(``asyncio.to_thread``) so the triggerer's event loop never blocks. Its deadline is a wall-clock epoch
carried in its kwargs, so it survives a move to another triggerer. It yields exactly one event whose
``status`` is one of :data:`EVENT_STATUSES`. ``cleanup`` never touches the job (it runs on every triggerer
restart); ``on_kill`` (Airflow 3.3+, a user marking or clearing the task) stops it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from ovhcloud_ai_provider.hooks.job_states import DEFAULT_FAILURE_STATES, DEFAULT_TARGET_STATES

EVENT_STATUSES = frozenset({"success", "failure", "timeout", "error"})
#: Consecutive failed polls (each already retried by the client) before the trigger gives up.
MAX_CONSECUTIVE_ERRORS = 5


class OVHCloudAITrainingJobTrigger(BaseTrigger):
    """Wait for a training job to reach a target or failure state.

    :param job_id: the job's id.
    :param end_time: wall-clock epoch seconds after which the wait times out.
    :param stop_on_timeout: stop the job when the wait times out (stops billing for a job nobody awaits).
    :param stream_logs: write new job log lines to the task log at each poll.
    :param stop_on_kill: stop the job when a user kills the deferred task (sensors set it to False).
    """

    def __init__(
        self,
        job_id: str,
        ovh_conn_id: str = "ovh_ai_training_default",
        region: str | None = None,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: float = 30,
        end_time: float | None = None,
        stop_on_timeout: bool = True,
        stream_logs: bool = True,
        log_cursor: dict[str, Any] | None = None,
        stop_on_kill: bool = True,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.ovh_conn_id = ovh_conn_id
        self.region = region
        self.target_states = list(target_states or DEFAULT_TARGET_STATES)
        self.failure_states = list(failure_states or DEFAULT_FAILURE_STATES)
        self.check_interval = float(check_interval)
        self.end_time = float(end_time) if end_time is not None else time.time() + 3600
        self.stop_on_timeout = stop_on_timeout
        self.stream_logs = stream_logs
        self.log_cursor = log_cursor
        self.stop_on_kill = stop_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "ovh_conn_id": self.ovh_conn_id,
                "region": self.region,
                "target_states": self.target_states,
                "failure_states": self.failure_states,
                "check_interval": self.check_interval,
                "end_time": self.end_time,
                "stop_on_timeout": self.stop_on_timeout,
                "stream_logs": self.stream_logs,
                "log_cursor": self.log_cursor,
                "stop_on_kill": self.stop_on_kill,
            },
        )

    def _hook(self) -> Any:
        from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook

        return OVHCloudAITrainingHook(ovh_conn_id=self.ovh_conn_id, region=self.region)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from ovhcloud_ai_provider.exceptions import OVHCloudAIError, OVHCloudAIRequestError
        from ovhcloud_ai_provider.hooks.ai_training import classify_state
        from ovhcloud_ai_provider.hooks.job_states import resolve_state_sets
        from ovhcloud_ai_provider.hooks.job_view import job_state, redact_job
        from ovhcloud_ai_provider.hooks.log_tail import LogTailer

        try:
            hook = self._hook()
            targets, failures = resolve_state_sets(self.target_states, self.failure_states)
        except OVHCloudAIError as exc:
            yield TriggerEvent({"status": "error", "job_id": self.job_id, "state": "", "message": str(exc)})
            return
        tailer = LogTailer.from_state(self.log_cursor)
        previous = ""
        errors = 0
        while True:
            try:
                job = await asyncio.to_thread(hook.get_job, self.job_id)
                errors = 0
            except OVHCloudAIError as exc:
                if not isinstance(exc, OVHCloudAIRequestError):  # connection, token, region: no retry helps
                    yield TriggerEvent({"status": "error", "job_id": self.job_id, "state": previous, "message": str(exc)})
                    return
                errors += 1
                self.log.warning("training_job.poll_failed", ovh_job_id=self.job_id, error=str(exc), consecutive=errors)
                if errors >= MAX_CONSECUTIVE_ERRORS or (exc.status is not None and exc.status < 500 and exc.status != 429):
                    yield TriggerEvent(
                        {"status": "error", "job_id": self.job_id, "state": previous, "message": str(exc)}
                    )
                    return
                job = None
            if job is not None:
                state = job_state(job)
                self._observe(job)
                if state != previous:
                    self.log.info(
                        "training_job.state_changed", ovh_job_id=self.job_id, previous_state=previous or None, state=state
                    )
                    previous = state
                if self.stream_logs:
                    await self._print_new_logs(hook, tailer)
                outcome = classify_state(state, targets, failures)
                if outcome != "running":
                    yield TriggerEvent(
                        {
                            "status": outcome,
                            "job_id": self.job_id,
                            "state": state,
                            "message": f"AI Training job {self.job_id} reached {state}",
                            "job": redact_job(job),
                        }
                    )
                    return
            if time.time() >= self.end_time:
                stopped = False
                if self.stop_on_timeout:
                    stopped = await self._stop(hook)
                yield TriggerEvent(
                    {
                        "status": "timeout",
                        "job_id": self.job_id,
                        "state": previous,
                        "stopped": stopped,
                        "message": f"Timeout waiting for AI Training job {self.job_id} (last state: {previous})",
                    }
                )
                return
            await asyncio.sleep(max(0.0, min(self.check_interval, self.end_time - time.time())))

    def _observe(self, job: dict[str, Any]) -> None:
        """Feed the waiting / stuck-in-QUEUED gauges; the triggerer has no task context, so pass it."""
        from ovhcloud_ai_provider.observability import metrics

        ti = getattr(self, "task_instance", None)
        metrics.record_training_job_state(
            job, dag_id=str(getattr(ti, "dag_id", "") or ""), task_id=str(getattr(ti, "task_id", "") or "")
        )

    async def _print_new_logs(self, hook: Any, tailer: Any) -> None:
        from ovhcloud_ai_provider.exceptions import OVHCloudAIError
        from ovhcloud_ai_provider.hooks.log_tail import DEFAULT_TAIL_LINES

        try:
            text = await asyncio.to_thread(hook.get_job_logs, self.job_id, None, DEFAULT_TAIL_LINES)
        except OVHCloudAIError as exc:
            self.log.warning("training_job.logs_unavailable", ovh_job_id=self.job_id, error=str(exc))
            return
        for line in tailer.new_lines(text):
            self.log.info(f"[ovh job {self.job_id[:8]}] {line}")
        self.log_cursor = tailer.to_state()

    async def _stop(self, hook: Any) -> bool:
        from ovhcloud_ai_provider.exceptions import OVHCloudAIError

        try:
            await asyncio.to_thread(hook.stop_job, self.job_id)
        except OVHCloudAIError as exc:
            self.log.warning("training_job.stop_failed", ovh_job_id=self.job_id, error=str(exc))
            return False
        self.log.info("training_job.stopped", ovh_job_id=self.job_id, reason="wait timeout")
        return True

    async def on_kill(self) -> None:
        """The user killed the deferred task: stop the job so it stops billing."""
        if not self.stop_on_kill:
            # A sensor watching someone else's job never stops it.
            return
        await self._stop(self._hook())

    async def cleanup(self) -> None:
        """Runs on every exit, triggerer restarts included: never stop the job here."""
        return None
