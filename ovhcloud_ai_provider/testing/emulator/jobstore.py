"""Thread-safe store of AI Training jobs.

Owns the job dictionary and the operations on it (create, kill, delete, restart), applying the emulator
settings in force at the time of each operation. Deleted jobs are archived so that the accounting can
still report the final states they reached.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from .accounting import Accounting
from .clock import Clock
from .config import EmulatorConfig
from .jobs import (
    RUN_SECONDS_LABEL,
    SCENARIO_LABEL,
    SCENARIOS,
    TERMINAL_STATES,
    Job,
    JobStateError,
    Timing,
    new_job,
    plan,
    scenario_steps,
)
from .jobspec import SpecError, normalize_spec, user_labels


class JobNotFound(KeyError):
    """No job with that id (answered 404)."""


class JobStore:
    """All jobs of the emulated project."""

    def __init__(self, clock: Clock, accounting: Accounting, config: Callable[[], EmulatorConfig]) -> None:
        self._clock = clock
        self._accounting = accounting
        self._config = config
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._archive: list[Job] = []

    def clear(self) -> None:
        """Forget every job, archived ones included."""
        with self._lock:
            self._jobs.clear()
            self._archive.clear()

    def _timing(self, job_spec: dict[str, Any]) -> Timing:
        cfg = self._config()
        scale = cfg.time_scale
        run = cfg.default_run_seconds
        raw_run = job_spec["labels"].get(RUN_SECONDS_LABEL)
        if raw_run is not None:
            try:
                run = float(raw_run)
            except ValueError:
                raise SpecError(f"label {RUN_SECONDS_LABEL} must be a number of seconds") from None
            if run < 0:
                raise SpecError(f"label {RUN_SECONDS_LABEL} must be >= 0")
        timeout = job_spec.get("timeout") or 0
        return Timing(
            phase=cfg.phase_seconds * scale,
            run=run * scale,
            long_queue=cfg.long_queue_seconds * scale,
            timeout=timeout * scale if timeout else None,
            auto_restart=bool(job_spec.get("timeoutAutoRestart")),
        )

    @staticmethod
    def _scenario(job_spec: dict[str, Any]) -> str:
        scenario = job_spec["labels"].get(SCENARIO_LABEL, "success")
        if scenario not in SCENARIOS:
            raise SpecError(f"label {SCENARIO_LABEL} must be one of {', '.join(SCENARIOS)}")
        return scenario

    def create(self, raw_spec: Any, token: str) -> Job:
        """Validate a JobSpec and submit the job (first state QUEUED)."""
        job_id = str(uuid.uuid4())
        spec = normalize_spec(raw_spec, job_id=job_id, strict=self._config().strict_job_spec)
        scenario = self._scenario(spec)
        timing = self._timing(spec)
        with self._lock:
            job = new_job(
                job_id=job_id, spec=spec, token=token, now=self._clock.now(), scenario=scenario, timing=timing
            )
            self._jobs[job_id] = job
        self._accounting.record_job_event("created")
        return job

    def get(self, job_id: str) -> Job:
        """The job, or ``JobNotFound``."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    def all(self) -> list[Job]:
        """Every live job, in creation order."""
        with self._lock:
            return list(self._jobs.values())

    def view(self, job_id: str) -> dict[str, Any]:
        """API view of one job at the current time."""
        with self._lock:
            return self.get(job_id).to_api(self._clock.now(), self._config().region)

    def views(self) -> list[tuple[float, dict[str, Any]]]:
        """``(updatedAt as unix time, API view)`` of every live job at one instant (consistent lists)."""
        with self._lock:
            now = self._clock.now()
            region = self._config().region
            return [(job.updated_at(now), job.to_api(now, region)) for job in self._jobs.values()]

    def logs(self, job_id: str) -> list[str]:
        """Log lines of one job up to now."""
        with self._lock:
            return self.get(job_id).log_lines(self._clock.now())

    def kill(self, job_id: str) -> None:
        """``PUT /kill``; ``JobStateError`` on a terminal job."""
        with self._lock:
            job = self.get(job_id)
            cfg = self._config()
            changed = job.kill(self._clock.now(), cfg.phase_seconds * cfg.time_scale)
        if changed:
            self._accounting.record_job_event("killed")

    def start(self, job_id: str) -> None:
        """``PUT /start``: re-run a DONE or INTERRUPTED job with its scenario."""
        with self._lock:
            job = self.get(job_id)
            now = self._clock.now()
            job.restart(now, plan(scenario_steps(job.scenario, self._timing(job.spec)), now))
        self._accounting.record_job_event("started")

    def delete(self, job_id: str, *, force: bool) -> None:
        """``DELETE``; a job that is not in a terminal state needs ``force``."""
        with self._lock:
            job = self.get(job_id)
            now = self._clock.now()
            state = job.state(now)
            if state not in TERMINAL_STATES and not force:
                raise JobStateError(f"Job is {state}: stop it first or delete it with force=true")
            job.deleted_at = now
            del self._jobs[job_id]
            self._archive.append(job)
        self._accounting.record_job_event("deleted")

    def set_label(self, job_id: str, name: str, value: str | None) -> None:
        """``PUT /label``: set a label, or delete it when ``value`` is None."""
        if name.startswith("ovh/"):
            raise SpecError(f"label {name!r} is reserved by the platform")
        if value is not None:
            user_labels({name: value})  # validates
        with self._lock:
            job = self.get(job_id)
            labels = dict(job.spec["labels"])
            if value is None:
                labels.pop(name, None)
            else:
                labels[name] = value
            job.spec = {**job.spec, "labels": labels}
            job.spec_updated_at = self._clock.now()

    def update(self, job_id: str, changes: dict[str, Any]) -> None:
        """``PUT /v1/job/{id}``: change ``timeout``/``timeoutAutoRestart`` (stored, not re-planned)."""
        with self._lock:
            job = self.get(job_id)
            job.spec = {**job.spec, **changes}
            job.spec_updated_at = self._clock.now()

    def job_states(self) -> dict[str, dict[str, int]]:
        """``by_state`` (live jobs now) and ``by_final_state`` (terminal states reached, all runs)."""
        with self._lock:
            now = self._clock.now()
            by_state: dict[str, int] = {}
            by_final: dict[str, int] = {}
            for job in self._jobs.values():
                state = job.state(now)
                by_state[state] = by_state.get(state, 0) + 1
            for job in [*self._jobs.values(), *self._archive]:
                for final in job.final_states(now):
                    by_final[final] = by_final.get(final, 0) + 1
            return {
                "by_final_state": dict(sorted(by_final.items())),
                "by_state": dict(sorted(by_state.items())),
            }


__all__ = ["JobNotFound", "JobStateError", "JobStore", "SpecError"]
