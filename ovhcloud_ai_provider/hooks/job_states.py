"""AI Training job states, as the real API defines them (13 values), and what an orchestrator makes of them.

Kept free of any import so that triggers, sensors and operators can share one definition.
"""

from __future__ import annotations

JOB_STATES: tuple[str, ...] = (
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
#: States a job leaves only if someone restarts it (``PUT /start``). TIMEOUT, RESTARTING and FINALIZING
#: are not terminal: output data is complete only after FINALIZING.
TERMINAL_STATES: frozenset[str] = frozenset({"DONE", "FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED"})
ACTIVE_STATES: frozenset[str] = frozenset(JOB_STATES) - TERMINAL_STATES
DEFAULT_TARGET_STATES: tuple[str, ...] = ("DONE",)
#: The seed's failure states plus SYNC_FAILED (data sync back to Object Storage failed).
DEFAULT_FAILURE_STATES: tuple[str, ...] = ("FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED")


def resolve_state_sets(
    target_states: list[str] | tuple[str, ...] | None, failure_states: list[str] | tuple[str, ...] | None
) -> tuple[frozenset[str], frozenset[str]]:
    """Targets and failures as upper-case sets; a state the user lists as a target is never a failure
    (so ``target_states=["DONE", "INTERRUPTED"]`` accepts a stopped job)."""
    from ovhcloud_ai_provider.exceptions import OVHCloudAIValidationError

    targets = frozenset(s.upper() for s in (target_states or DEFAULT_TARGET_STATES))
    failures = frozenset(s.upper() for s in (failure_states or DEFAULT_FAILURE_STATES)) - targets
    unknown = sorted((targets | failures) - set(JOB_STATES))
    if unknown:
        raise OVHCloudAIValidationError(f"Unknown job state(s) {unknown}. Valid states are: {list(JOB_STATES)}")
    return targets, failures
