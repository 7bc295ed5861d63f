"""AI Training jobs: scenarios, the clock-driven state machine, status rendering and logs.

A job never "ticks": at creation (and at each kill/restart) the emulator *plans* its transitions with
absolute timestamps, and every read computes the state from the clock. This is deterministic (no
background thread racing the test), cheap, and lets tests jump forward with ``Clock.advance``.
All 13 states of ovh-api.md 1.6 are reachable through the scenarios below.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .clock import iso, iso_seconds

STATES = (
    "QUEUED",
    "INITIALIZING",
    "PENDING",
    "RUNNING",
    "INTERRUPTING",
    "FINALIZING",
    "DONE",
    "FAILED",
    "ERROR",
    "INTERRUPTED",
    "TIMEOUT",
    "RESTARTING",
    "SYNC_FAILED",
)
TERMINAL_STATES = frozenset({"DONE", "FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED"})
#: ``PUT /v1/job/{id}/start`` restarts only these (ovh-api.md 1.3).
RESTARTABLE_STATES = frozenset({"DONE", "INTERRUPTED"})
#: Killing a job already on its way out is a no-op (the stop is in progress) [I].
STOPPING_STATES = frozenset({"INTERRUPTING", "TIMEOUT", "FINALIZING"})
_STOPPED_STATES = STOPPING_STATES | TERMINAL_STATES

SCENARIOS = ("success", "fail", "error", "sync_failed", "long_queue", "interrupted", "timeout", "restart")
SCENARIO_LABEL = "emulator-scenario"
RUN_SECONDS_LABEL = "emulator-run-seconds"

#: Default ``status.info`` per state. Codes are OVH's InfoCodeEnum values; JOB_RESTARTING is [I].
STATE_INFO: dict[str, tuple[str, str]] = {
    "QUEUED": ("JOB_QUEUED", "Job is queued"),
    "INITIALIZING": ("JOB_INITIALIZING", "Pulling job's data"),
    "PENDING": ("JOB_PENDING", "Job is pending"),
    "RUNNING": ("JOB_RUNNING", "Job is running"),
    "INTERRUPTING": ("JOB_INTERRUPTING", "Job is being interrupted"),
    "FINALIZING": ("JOB_FINALIZING", "Pushing job's data"),
    "DONE": ("JOB_DONE", "Job is done"),
    "FAILED": ("JOB_FAILED", "Job failed with code 1"),
    "ERROR": ("JOB_ERROR", "Job is in error: platform error"),
    "INTERRUPTED": ("JOB_INTERRUPTED", "Job was interrupted by user"),
    "TIMEOUT": ("JOB_TIMEOUT", "Job timeout reached, job is being interrupted"),
    "RESTARTING": ("JOB_RESTARTING", "Job is restarting"),
    "SYNC_FAILED": ("DATASYNC_FAILED", "Data synchronization failed"),
}
_EPOCHS = 3


class JobStateError(Exception):
    """An operation not allowed in the job's current state (answered 400)."""


@dataclass(frozen=True)
class Transition:
    """One state change at an absolute time; ``planned`` is the planned length of the phase it opens."""

    at: float
    state: str
    code: str
    message: str
    exit_code: int | None = None
    planned: float | None = None


@dataclass(frozen=True)
class Timing:
    """Phase lengths in real seconds (already multiplied by ``time_scale``)."""

    phase: float
    run: float
    long_queue: float
    timeout: float | None = None  # from spec.timeout, scaled; None when unset
    auto_restart: bool = False


Step = tuple[str, float | None, dict[str, Any]]


def _step(state: str, duration: float | None, **extra: Any) -> Step:
    return (state, duration, extra)


def scenario_steps(scenario: str, timing: Timing) -> list[Step]:
    """The ordered phases of one run for a scenario (last step is terminal, duration ``None``)."""
    p, r = timing.phase, timing.run
    head = [
        _step("QUEUED", timing.long_queue if scenario == "long_queue" else p),
        _step("INITIALIZING", p),
        _step("PENDING", p),
    ]
    if scenario == "error":
        return [head[0], head[1], _step("ERROR", None)]
    # spec.timeout shorter than the run: the platform interrupts (or restarts) the job.
    if timing.timeout and timing.timeout < r and scenario in ("success", "long_queue", "fail", "sync_failed"):
        if not timing.auto_restart:
            scenario, r = "timeout", timing.timeout
        else:
            steps, remaining = list(head), r
            for _ in range(20):
                if remaining <= timing.timeout:
                    break
                steps += [_step("RUNNING", timing.timeout), _step("RESTARTING", p)]
                remaining -= timing.timeout
            return [
                *steps,
                _step("RUNNING", remaining),
                _step("FINALIZING", p),
                _step("DONE", None, exit_code=0),
            ]
    if scenario in ("success", "long_queue"):
        return [*head, _step("RUNNING", r), _step("FINALIZING", p), _step("DONE", None, exit_code=0)]
    if scenario == "fail":
        return [*head, _step("RUNNING", r), _step("FAILED", None, exit_code=1)]
    if scenario == "sync_failed":
        return [*head, _step("RUNNING", r), _step("FINALIZING", p), _step("SYNC_FAILED", None, exit_code=0)]
    if scenario == "interrupted":
        return [
            *head,
            _step("RUNNING", r),
            _step("INTERRUPTING", p),
            _step("FINALIZING", p),
            _step(
                "INTERRUPTED",
                None,
                code="JOB_INTERRUPTED_BY_PLATFORM",
                message="Job was interrupted by the platform",
            ),
        ]
    if scenario == "timeout":
        return [
            *head,
            _step("RUNNING", r),
            _step("TIMEOUT", p),
            _step("FINALIZING", p),
            _step("INTERRUPTED", None, code="JOB_TIMEOUT", message="Job was interrupted: timeout reached"),
        ]
    if scenario == "restart":
        return [
            *head,
            _step("RUNNING", r / 2),
            _step("RESTARTING", p),
            _step("RUNNING", r / 2),
            _step("FINALIZING", p),
            _step("DONE", None, exit_code=0),
        ]
    raise ValueError(f"unknown scenario {scenario!r}")


def plan(steps: Iterable[Step], start: float) -> list[Transition]:
    """Turn relative steps into absolute transitions starting at ``start``."""
    out: list[Transition] = []
    at = start
    for state, duration, extra in steps:
        code, message = STATE_INFO[state]
        out.append(
            Transition(
                at=at,
                state=state,
                code=extra.get("code", code),
                message=extra.get("message", message),
                exit_code=extra.get("exit_code"),
                planned=duration,
            )
        )
        at += duration or 0.0
    return out


@dataclass
class Run:
    """One execution attempt: the submission, or a ``PUT /start`` restart."""

    started: float
    transitions: list[Transition]

    def happened(self, now: float) -> list[Transition]:
        return [t for t in self.transitions if t.at <= now]

    def segment_end(self, index: int, now: float) -> float:
        """End of the phase opened by transition ``index``, capped at ``now`` (phase still going)."""
        nxt = self.transitions[index + 1].at if index + 1 < len(self.transitions) else now
        return min(nxt, now)


def _uuid_for(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "ovh-emulator/" + "/".join(parts)))


def _volume_source(volume: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    source = volume.get("volumeSource") or volume
    for kind in ("dataStore", "privateSwift", "publicSwift", "publicGit", "standalone"):
        if source.get(kind) is not None:
            return kind, source[kind]
    return "standalone", {}


@dataclass
class Job:
    """A job and its runs; every API view is computed for a given ``now``."""

    id: str
    created_at: float
    user: str
    spec: dict[str, Any]
    scenario: str
    runs: list[Run]
    spec_updated_at: float
    volume_ids: list[tuple[str, str]] = field(default_factory=list)
    deleted_at: float | None = None

    @property
    def run(self) -> Run:
        return self.runs[-1]

    def current(self, now: float) -> Transition:
        """The transition in effect at ``now`` (the job's current state)."""
        happened = self.run.happened(now)
        return happened[-1] if happened else self.run.transitions[0]

    def state(self, now: float) -> str:
        return self.current(now).state

    def history(self, now: float) -> list[Transition]:
        return [t for run in self.runs for t in run.happened(now)]

    def final_states(self, now: float) -> list[str]:
        """Terminal states reached by each run so far (a deleted job stops at its deletion time)."""
        limit = now if self.deleted_at is None else min(now, self.deleted_at)
        return [t.state for run in self.runs for t in run.happened(limit) if t.state in TERMINAL_STATES]

    def updated_at(self, now: float) -> float:
        return max(self.current(now).at, self.spec_updated_at, self.created_at)

    # -- operations -----------------------------------------------------------------------------------
    def kill(self, now: float, phase: float) -> bool:
        """Stop the job: -> INTERRUPTING -> FINALIZING -> INTERRUPTED. ``False`` if already stopping."""
        state = self.state(now)
        if state in TERMINAL_STATES:
            raise JobStateError(f"Job is already in a terminal state ({state}), it cannot be stopped")
        if state in STOPPING_STATES:
            return False
        kept = self.run.happened(now)
        self.run.transitions = kept + plan(
            [
                _step("INTERRUPTING", phase),
                _step("FINALIZING", phase),
                _step("INTERRUPTED", None),
            ],
            now,
        )
        return True

    def restart(self, now: float, transitions: list[Transition]) -> None:
        """``PUT /start``: a DONE or INTERRUPTED job goes back to QUEUED with a fresh run."""
        state = self.state(now)
        if state not in RESTARTABLE_STATES:
            raise JobStateError(f"Job in state {state} cannot be started: only DONE or INTERRUPTED jobs can")
        self.runs.append(Run(started=now, transitions=transitions))

    # -- views ----------------------------------------------------------------------------------------
    def _first(self, happened: list[Transition], states: frozenset[str] | set[str]) -> float | None:
        return next((t.at for t in happened if t.state in states), None)

    def _running_seconds(self, now: float) -> float:
        total = 0.0
        for i, t in enumerate(self.run.transitions):
            if t.state == "RUNNING" and t.at <= now:
                total += self.run.segment_end(i, now) - t.at
        return total

    def _sync_windows(self, now: float) -> list[tuple[str, int, float, float | None, bool]]:
        """(direction, run index, start, end or None if in progress, failed) of each automatic sync."""
        windows = []
        for run_index, run in enumerate(self.runs):
            for i, t in enumerate(run.transitions):
                if t.at > now or t.state not in ("INITIALIZING", "FINALIZING"):
                    continue
                nxt = run.transitions[i + 1] if i + 1 < len(run.transitions) else None
                end = nxt.at if nxt is not None and nxt.at <= now else None
                failed = nxt is not None and nxt.state == "SYNC_FAILED" and end is not None
                direction = "pull" if t.state == "INITIALIZING" else "push"
                windows.append((direction, run_index, t.at, end, failed))
        return windows

    def _data_sync(self, now: float) -> list[dict[str, Any]]:
        volumes = self.spec["volumes"]
        pullable = [v for v in volumes if _volume_source(v)[0] != "standalone"]
        pushable = [
            v
            for v in volumes
            if _volume_source(v)[0] in ("dataStore", "privateSwift") and v["permission"] != "RO"
        ]
        out = []
        for direction, run_index, start, end, failed in self._sync_windows(now):
            targets = pullable if direction == "pull" else pushable
            if not targets:
                continue
            state = "RUNNING" if end is None else ("FAILED" if failed else "DONE")
            sync_id = _uuid_for(self.id, str(run_index), direction)
            progress = []
            for vol in targets:
                kind, src = _volume_source(vol)
                files = 0 if end is None else 10
                progress.append(
                    {
                        "id": _uuid_for(sync_id, vol["mountPath"]),
                        "createdAt": iso(start),
                        "updatedAt": iso(end if end is not None else start),
                        "dataSyncId": sync_id,
                        "direction": direction,
                        "state": state,
                        "total": 10,
                        "processed": files,
                        "completed": 0 if failed else files,
                        "failed": files if failed else 0,
                        "deleted": 0,
                        "skipped": 0,
                        "transferredBytes": files * 1024 * 1024,
                        "info": f"{src.get('container', src.get('url', kind))}@{src.get('alias', kind)}",
                    }
                )
            out.append(
                {
                    "spec": {"direction": direction, "manual": False, "volume": None},
                    "status": {
                        "state": state,
                        "queuedAt": iso(start),
                        "startedAt": iso(start),
                        "endedAt": iso(end) if end is not None else None,
                        "info": "Data synchronization failed" if failed else "",
                        "progress": progress,
                    },
                }
            )
        return out

    def _volume_status(self, now: float) -> list[dict[str, Any]]:
        windows = self._sync_windows(now)
        last_pull = next((s for d, _, s, e, _f in reversed(windows) if d == "pull" and e is not None), None)
        last_push = next(
            (s for d, _, s, e, f in reversed(windows) if d == "push" and e is not None and not f), None
        )
        out = []
        for (vid, user_vid), vol in zip(self.volume_ids, self.spec["volumes"], strict=True):
            item: dict[str, Any] = {"id": vid, "mountPath": vol["mountPath"], "userVolumeId": user_vid}
            if last_pull is not None:
                item["lastPulledCreatedAt"] = iso(last_pull)
            if last_push is not None and vol["permission"] != "RO":
                item["lastPushedCreatedAt"] = iso(last_push)
            out.append(item)
        return out

    def to_api(self, now: float, region: str) -> dict[str, Any]:
        """The Job object of ovh-api.md 1.4, as ``GET /v1/job/{id}`` returns it at ``now``."""
        cur = self.current(now)
        run_happened = self.run.happened(now) or [cur]
        terminal = cur.state in TERMINAL_STATES
        stopped_at = self._first(run_happened, _STOPPED_STATES)
        created_ms = int(self.created_at * 1000)
        digest = hashlib.sha256(self.id.encode()).digest()
        return {
            "id": self.id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at(now)),
            "user": self.user,
            "spec": self.spec,
            "status": {
                "state": cur.state,
                "history": [{"date": iso(t.at), "state": t.state} for t in self.history(now)],
                "info": {"code": cur.code, "message": cur.message},
                "exitCode": cur.exit_code if terminal else None,
                "duration": int(self._running_seconds(now)),
                "queuedAt": _iso_or_none(self._first(run_happened, {"QUEUED"})),
                "initializingAt": _iso_or_none(self._first(run_happened, {"INITIALIZING"})),
                "startedAt": _iso_or_none(self._first(run_happened, {"RUNNING"})),
                "stoppedAt": _iso_or_none(stopped_at),
                "finalizedAt": iso(cur.at) if terminal else None,
                "timeoutAt": _iso_or_none(self._first(run_happened, {"TIMEOUT"})),
                "lastTransitionDate": iso(cur.at),
                "url": f"https://{self.id}.job.{region}.ai.cloud.ovh.net",
                "sshUrl": f"ssh://{self.id}@{region}.ai.cloud.ovh.net",
                "grpcAddress": f"{self.id}.job-grpc.{region}.ai.cloud.ovh.net:443",
                "infoUrl": f"https://ui.{region}.ai.cloud.ovh.net/job/{self.id}",
                "monitoringUrl": f"https://monitoring.{region}.ai.cloud.ovh.net/d/job?var-job={self.id}&from={created_ms}",
                "ip": f"10.42.{digest[0]}.{digest[1]}" if cur.state == "RUNNING" else None,
                "externalIp": None,
                "volumes": self._volume_status(now),
                "dataSync": self._data_sync(now),
            },
        }

    def log_lines(self, now: float) -> list[str]:
        """Plain-text log: ``[ovh]`` status lines plus emulated container stdout while RUNNING."""
        digest = int(hashlib.sha256(self.id.encode()).hexdigest(), 16)
        base_loss = 0.3 + (digest % 600) / 1000
        events: list[tuple[float, int, str]] = []
        for run in self.runs:
            for i, t in enumerate(run.transitions):
                if t.at > now:
                    break
                events.append(
                    (
                        t.at,
                        1,
                        f"{iso_seconds(t.at)} [ovh] Job status is now {t.state} : {t.code} : {t.message}",
                    )
                )
                if t.state != "RUNNING":
                    continue
                end = run.segment_end(i, now)
                planned = t.planned or 0.0
                lines = [(t.at, f"Starting container {self.spec['image']}")]
                for k in range(1, _EPOCHS + 1):
                    loss = base_loss * (0.7 ** (k - 1))
                    lines.append((t.at + planned * k / (_EPOCHS + 1), f"epoch {k}/{_EPOCHS} loss={loss:.4f}"))
                nxt = run.transitions[i + 1] if i + 1 < len(run.transitions) else None
                if nxt is not None and nxt.at >= t.at + planned:  # the phase ran to its planned end
                    if nxt.state == "FAILED":
                        lines.append((nxt.at, "Traceback (most recent call last):"))
                        lines.append((nxt.at, "RuntimeError: emulated training failure"))
                    elif nxt.state in ("FINALIZING", "RESTARTING", "TIMEOUT"):
                        lines.append(
                            (
                                nxt.at,
                                "Training step finished"
                                if nxt.state != "FINALIZING"
                                else "Training complete",
                            )
                        )
                for at, text in lines:
                    if at <= end and at <= now:
                        # End-of-phase stdout sorts before the next status line, the rest after.
                        prio = 0 if nxt is not None and at == nxt.at else 2
                        events.append((at, prio, f"{iso_seconds(at)} {text}"))
        events.sort(key=lambda e: (e[0], e[1]))
        return [text for _, _, text in events]


def _iso_or_none(ts: float | None) -> str | None:
    return iso(ts) if ts is not None else None


def user_for_token(token: str) -> str:
    """A stable ``user-xxxx`` name per token (the real API reports the OpenStack user)."""
    return "user-" + hashlib.sha256(token.encode()).hexdigest()[:10]


def new_job(
    *,
    job_id: str,
    spec: dict[str, Any],
    token: str,
    now: float,
    scenario: str,
    timing: Timing,
    uuid_factory: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Job:
    """Build a job and plan its first run."""
    return Job(
        id=job_id,
        created_at=now,
        user=user_for_token(token),
        spec=spec,
        scenario=scenario,
        runs=[Run(started=now, transitions=plan(scenario_steps(scenario, timing), now))],
        spec_updated_at=now,
        volume_ids=[(uuid_factory(), uuid_factory()) for _ in spec["volumes"]],
    )
