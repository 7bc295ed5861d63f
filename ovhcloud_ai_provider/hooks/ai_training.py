"""Hook for OVHcloud AI Training, the regional jobs API (``/v1/job``).

The Python signatures are the seed's; the wire format is the real API's: ``statusState`` and
``labelSelector`` list filters, plain-text logs filtered by ``since`` on our side, 13 job states, kill
answering 200 or 204, and only the resource fields the user asked for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, cast

import structlog

from ovhcloud_ai_provider.exceptions import (
    OVHCloudAIConfigurationError,
    OVHCloudAIRateLimitedError,
    OVHCloudAIResponseError,
    OVHCloudAIServerError,
    OVHCloudAITrainingJobFailedError,
    OVHCloudAITrainingJobTimeoutError,
    OVHCloudAIUnreachableError,
    OVHCloudAIValidationError,
)
from ovhcloud_ai_provider.hooks.base import OVHCloudAIBaseHook
from ovhcloud_ai_provider.hooks.connection import ResolvedConnection, connection_extra, url_from_host
from ovhcloud_ai_provider.hooks.job_states import (
    DEFAULT_FAILURE_STATES,
    DEFAULT_TARGET_STATES,
    JOB_STATES,
    TERMINAL_STATES,
    resolve_state_sets,
)

log = structlog.get_logger(__name__)

VOLUME_PERMISSIONS = ("RO", "RW", "RWD")
SHUTDOWN_STRATEGIES = ("Stop",)
DEFAULT_DATASTORE_ALIAS = "GRA"
MAX_GPU_PER_JOB = 4
MAX_CPU_PER_JOB = 12
_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.\-/]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.\-]{0,61}[A-Za-z0-9])?)?$")
_LOG_TS_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s")
#: Consecutive failed polls tolerated while waiting before giving up (each poll already retries).
MAX_CONSECUTIVE_POLL_ERRORS = 5


class OVHCloudAITrainingHook(OVHCloudAIBaseHook):
    """Submit, follow, stop and delete AI Training jobs.

    :param ovh_conn_id: Airflow connection id; token in password, region in login (or extra ``region``).
    :param region: ``gra`` or ``bhs``; overrides the connection's region.
    :param timeout: seconds to wait for an answer (per HTTP attempt).
    """

    conn_name_attr = "ovh_conn_id"
    default_conn_name = "ovh_ai_training_default"
    conn_type = "ovhcloud_ai_training"
    hook_name = "OVHcloud AI Training"
    service = "ai_training"
    service_label = "AI Training"

    REGIONS = {
        "gra": "https://gra.ai.cloud.ovh.net",
        "bhs": "https://bhs.ai.cloud.ovh.net",
    }
    JOB_STATES = JOB_STATES
    TERMINAL_STATES = TERMINAL_STATES

    def __init__(
        self,
        ovh_conn_id: str = default_conn_name,
        region: str | None = None,
        timeout: int = 120,
        *,
        retry: Any = None,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, timeout=timeout, retry=retry)
        self.region = self._check_region(region, self._connection_regions(region)) if region else None

    def _connection_regions(self, region: str) -> list[str]:
        """Regions the connection adds (extra ``regions``), looked up only for a region we do not know."""
        if str(region).strip().lower() in self.REGIONS:
            return []
        try:
            extra = connection_extra(self.get_connection(self.ovh_conn_id))
        except Exception:
            return []
        regions = extra.get("regions")
        return [str(name).lower() for name in regions] if isinstance(regions, dict) else []

    def _check_region(self, region: str, extra_regions: Iterable[str] = ()) -> str:
        normalized = str(region).strip().lower()
        valid = list(self.REGIONS) + [r for r in extra_regions if r not in self.REGIONS]
        if normalized not in valid:
            raise OVHCloudAIConfigurationError(f"Invalid region '{region}'. Valid regions are: {valid}")
        return normalized

    def _resolve(self, conn: Any, extra: dict[str, Any], token: str) -> ResolvedConnection:
        extra_regions: dict[str, str] = extra["regions"] if isinstance(extra.get("regions"), dict) else {}
        raw_region = self.region or extra.get("region") or getattr(conn, "login", None) or "gra"
        region = self._check_region(raw_region, extra_regions)
        override = url_from_host(conn, extra)
        base_url = override or extra_regions.get(region) or self.REGIONS[region]
        self.region = region
        return ResolvedConnection(base_url=base_url.rstrip("/"), token=token, region=region)

    # ------------------------------------------------------------------ jobs
    def submit_job(
        self,
        image: str,
        default_http_port: int | None = None,
        name: str | None = None,
        command: list[str] | None = None,
        env_vars: list[dict[str, str]] | None = None,
        gpu: int = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        flavor: str | None = None,
        volumes: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        ssh_public_keys: list[str] | None = None,
        timeout: int | None = None,
        timeout_auto_restart: bool | None = None,
        unsecure_http: bool = False,
        read_user: str | None = None,
        shutdown: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Submit a job (``POST /v1/job``, never blindly re-sent) and return the API's Job.

        With no ``gpu``, ``cpu`` or ``flavor`` no resources are sent and the platform's default applies
        (one GPU of the default flavor).
        """
        spec = build_job_spec(
            image=image,
            default_http_port=default_http_port,
            name=name,
            command=command,
            env_vars=env_vars,
            gpu=gpu,
            gpu_model=gpu_model,
            cpu=cpu,
            flavor=flavor,
            volumes=volumes,
            labels=labels,
            ssh_public_keys=ssh_public_keys,
            timeout=timeout,
            timeout_auto_restart=timeout_auto_restart,
            unsecure_http=unsecure_http,
            read_user=read_user,
            shutdown=shutdown,
            extra=kwargs,
        )
        return self.submit_job_spec(spec)

    def submit_job_spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Send an already built and validated JobSpec (the operators build it once to fingerprint it)."""
        from ovhcloud_ai_provider.lineage.hook_lineage import report_training_job
        from ovhcloud_ai_provider.observability.logging import register_secret

        for env in spec.get("envVars") or []:
            register_secret(str(env.get("value", "")))
        job = self.client.request_json("POST", "/v1/job", json_body=spec, operation="training")
        _require_job(job, "POST /v1/job")
        resources = (job.get("spec") or {}).get("resources") or {}
        log.info(
            "training_job.submitted",
            ovh_job_id=job["id"],
            job_name=(job.get("spec") or {}).get("name"),
            image=spec.get("image"),
            flavor=resources.get("flavor"),
            gpu=resources.get("gpu"),
            state=(job.get("status") or {}).get("state"),
            info_url=(job.get("status") or {}).get("infoUrl"),
        )
        report_training_job(self, spec=spec)
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        job_id = _require_job_id(job_id)
        job = self.client.request_json("GET", f"/v1/job/{job_id}", route="/v1/job/{id}", operation="training")
        return _require_job(job, "GET /v1/job/{id}")

    def get_job_status(self, job_id: str) -> str:
        return str((self.get_job(job_id).get("status") or {}).get("state") or "")

    def list_jobs(
        self,
        page: int = 1,
        size: int = 100,
        state: str | list[str] | None = None,
        labels: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """List jobs; ``state`` becomes ``statusState`` (repeatable) and ``labels`` a ``labelSelector``."""
        params: list[tuple[str, str]] = [("page", str(int(page))), ("size", str(int(size)))]
        for one in [state] if isinstance(state, str) else list(state or []):
            if one.upper() not in JOB_STATES:
                raise OVHCloudAIValidationError(f"Unknown job state {one!r}. Valid states are: {list(JOB_STATES)}")
            params.append(("statusState", one.upper()))
        if labels:
            params.append(("labelSelector", label_selector(labels)))
        result = self.client.request_json("GET", "/v1/job", params=params, operation="training")
        if not isinstance(result, dict) or not isinstance(result.get("items"), list):
            raise OVHCloudAIResponseError(
                "Request to OVHcloud AI Training failed: GET /v1/job -> answer without 'items'"
            )
        return result

    def find_jobs(self, labels: dict[str, str], states: list[str] | None = None) -> list[dict[str, Any]]:
        """Every job carrying all ``labels`` (all pages), newest first."""
        jobs: list[dict[str, Any]] = []
        page = 1
        while True:
            result = self.list_jobs(page=page, size=100, state=states, labels=labels)
            jobs.extend(result["items"])
            meta = result.get("metadata") or {}
            if page >= int(meta.get("pageCount") or 1) or not result["items"]:
                break
            page += 1
        return sorted(jobs, key=lambda job: str(job.get("createdAt") or ""), reverse=True)

    def stop_job(self, job_id: str) -> dict[str, Any]:
        """``PUT /v1/job/{id}/kill``: 204 gives ``{}``, a deployment answering 200 gives its Job."""
        job_id = _require_job_id(job_id)
        result = self.client.request_json(
            "PUT", f"/v1/job/{job_id}/kill", route="/v1/job/{id}/kill", operation="training"
        )
        log.info("training_job.stop_requested", ovh_job_id=job_id)
        return result if isinstance(result, dict) else {}

    def delete_job(self, job_id: str, force: bool = False) -> dict[str, Any]:
        job_id = _require_job_id(job_id)
        params = {"force": "true"} if force else None
        result = self.client.request_json(
            "DELETE", f"/v1/job/{job_id}", route="/v1/job/{id}", params=params, operation="training"
        )
        log.info("training_job.deleted", ovh_job_id=job_id)
        return result if isinstance(result, dict) else {}

    def get_job_logs(self, job_id: str, since: str | datetime | None = None, tail: int | None = None) -> str:
        """Plain-text logs. The API has no ``since``: lines are filtered here by their leading timestamp."""
        job_id = _require_job_id(job_id)
        params: dict[str, Any] = {}
        if tail is not None:
            if int(tail) < 1:
                raise OVHCloudAIValidationError(f"tail must be a positive number of lines, got {tail}")
            params["tail"] = int(tail)
        text = self.client.request_text(
            "GET", f"/v1/job/{job_id}/log", route="/v1/job/{id}/log", params=params or None, operation="training"
        )
        if since is None:
            return text
        return filter_log_since(text, parse_timestamp(since))

    def wait_for_job(
        self,
        job_id: str,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: int = 30,
        timeout: int = 3600,
        *,
        on_poll: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the job reaches a target state (returned) or a failure state (raised).

        A job in a terminal state that is neither a target nor a listed failure also fails: it will not move
        on by itself. ``on_poll`` sees every fetched Job (the operators tail logs with it).
        """
        from ovhcloud_ai_provider.observability import metrics

        job_id = _require_job_id(job_id)
        targets, failures = resolve_state_sets(target_states, failure_states)
        deadline = time.monotonic() + timeout
        previous: str | None = None
        errors = 0
        while True:
            try:
                job = self.get_job(job_id)
                errors = 0
            except (
                OVHCloudAIServerError,
                OVHCloudAIUnreachableError,
                OVHCloudAIResponseError,
                OVHCloudAIRateLimitedError,
            ) as exc:
                errors += 1
                if errors >= MAX_CONSECUTIVE_POLL_ERRORS:
                    raise
                log.warning("training_job.poll_failed", ovh_job_id=job_id, error=str(exc), consecutive=errors)
                job = None
            if job is not None:
                state = str((job.get("status") or {}).get("state") or "")
                metrics.record_training_job_state(job)
                if state != previous:
                    log.info("training_job.state_changed", ovh_job_id=job_id, previous_state=previous, state=state)
                    previous = state
                if on_poll is not None:
                    on_poll(job)
                outcome = classify_state(state, targets, failures)
                if outcome != "running":
                    observe_finished_job(job)
                if outcome == "success":
                    return job
                if outcome == "failure":
                    raise job_failed_error(job)
            if time.monotonic() >= deadline:
                raise OVHCloudAITrainingJobTimeoutError(
                    f"Timeout waiting for AI Training job {job_id} after {timeout}s (last state: {previous})",
                    job_id=job_id,
                    state=previous or "",
                )
            time.sleep(max(0.0, min(float(check_interval), deadline - time.monotonic())))

    def test_connection(self) -> tuple[bool, str]:
        """Authenticated one-item job list; never raises."""
        try:
            result = cast("OVHCloudAITrainingHook", self.probe()).list_jobs(page=1, size=1)
        except Exception as exc:
            return False, str(exc)
        total = (result.get("metadata") or {}).get("total")
        suffix = f", {total} jobs visible" if total is not None else ""
        return True, f"Connection to OVHcloud AI Training ({self.region}) successful{suffix}"

    # ------------------------------------------------------------------ static helpers (seed)
    @staticmethod
    def build_volume(
        container: str,
        mount_path: str,
        alias: str | None = None,
        prefix: str | None = None,
        permission: str = "RO",
        cache: bool = False,
    ) -> dict[str, Any]:
        """A volume mounting an Object Storage container. ``alias`` names the data store and defaults to
        ``GRA`` (OVHcloud's own Gravelines store)."""
        data_store: dict[str, Any] = {"alias": alias or DEFAULT_DATASTORE_ALIAS, "container": container}
        if prefix:
            data_store["prefix"] = prefix
        volume = {
            "volumeSource": {"dataStore": data_store},
            "mountPath": mount_path,
            "permission": str(permission).upper(),
            "cache": bool(cache),
        }
        validate_volume(volume, 0)
        return volume

    @staticmethod
    def build_env_vars(env_dict: dict[str, str]) -> list[dict[str, str]]:
        return [{"name": str(name), "value": str(value)} for name, value in (env_dict or {}).items()]


# ---------------------------------------------------------------------- job spec building and checks
def build_job_spec(
    *,
    image: str,
    default_http_port: int | None = None,
    name: str | None = None,
    command: list[str] | None = None,
    env_vars: list[dict[str, str]] | dict[str, str] | None = None,
    gpu: int = 0,
    gpu_model: str | None = None,
    cpu: int | None = None,
    flavor: str | None = None,
    volumes: list[dict[str, Any]] | None = None,
    labels: dict[str, str] | None = None,
    ssh_public_keys: list[str] | None = None,
    timeout: int | None = None,
    timeout_auto_restart: bool | None = None,
    unsecure_http: bool = False,
    read_user: str | None = None,
    shutdown: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build and validate a JobSpec with only the fields the caller set (the API fills the rest)."""
    if not isinstance(image, str) or not image.strip():
        raise OVHCloudAIValidationError("'image' is required, e.g. 'ovhcom/ai-training-pytorch:latest'")
    spec: dict[str, Any] = {"image": image.strip()}
    if name:
        spec["name"] = str(name)
    if command is not None:
        if isinstance(command, str) or not all(isinstance(part, str) for part in command):
            raise OVHCloudAIValidationError("'command' must be a list of strings, e.g. ['python', 'train.py']")
        spec["command"] = list(command)
    if env_vars:
        spec["envVars"] = _env_list(env_vars)
    resources = _resources(gpu, gpu_model, cpu, flavor)
    if resources:
        spec["resources"] = resources
    if volumes:
        if not isinstance(volumes, (list, tuple)):
            raise OVHCloudAIValidationError("'volumes' must be a list of volume dicts (see build_volume)")
        for position, volume in enumerate(volumes):
            validate_volume(volume, position)
        spec["volumes"] = [dict(v) for v in volumes]
    if labels:
        spec["labels"] = validate_labels(labels)
    if ssh_public_keys:
        spec["sshPublicKeys"] = list(ssh_public_keys)
    if default_http_port is not None:
        if not 1 <= int(default_http_port) <= 65535:
            raise OVHCloudAIValidationError(f"default_http_port must be a TCP port, got {default_http_port}")
        spec["defaultHttpPort"] = int(default_http_port)
    if timeout is not None:
        if int(timeout) < 0:
            raise OVHCloudAIValidationError(f"timeout must be a number of seconds >= 0, got {timeout}")
        spec["timeout"] = int(timeout)
    if timeout_auto_restart is not None:
        spec["timeoutAutoRestart"] = bool(timeout_auto_restart)
    if unsecure_http:
        spec["unsecureHttp"] = True
    if read_user:
        spec["readUser"] = str(read_user)
    if shutdown is not None:
        if shutdown not in SHUTDOWN_STRATEGIES:
            raise OVHCloudAIValidationError(
                f"Invalid shutdown strategy {shutdown!r}: the AI Training API only accepts {list(SHUTDOWN_STRATEGIES)}"
            )
        spec["shutdown"] = shutdown
    for key, value in (extra or {}).items():
        if value is not None:
            spec[_camel(key)] = value
    return spec


def _resources(gpu: int, gpu_model: str | None, cpu: int | None, flavor: str | None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    gpu = int(gpu or 0)
    if gpu < 0 or gpu > MAX_GPU_PER_JOB:
        raise OVHCloudAIValidationError(f"gpu must be between 0 and {MAX_GPU_PER_JOB} per job, got {gpu}")
    if cpu is not None and not 1 <= int(cpu) <= MAX_CPU_PER_JOB:
        raise OVHCloudAIValidationError(f"cpu must be between 1 and {MAX_CPU_PER_JOB} per job, got {cpu}")
    if gpu and cpu:
        raise OVHCloudAIValidationError(
            "A job gets GPUs or CPUs, not both: with gpu > 0 the CPUs scale per GPU; drop 'cpu'"
        )
    if gpu:
        resources["gpu"] = gpu
    if cpu:
        resources["cpu"] = int(cpu)
    if flavor:
        resources["flavor"] = str(flavor)
    if gpu_model:
        resources["gpuModel"] = str(gpu_model)
    return resources


def _env_list(env_vars: list[dict[str, str]] | dict[str, str]) -> list[dict[str, str]]:
    items = (
        OVHCloudAITrainingHook.build_env_vars(env_vars) if isinstance(env_vars, dict) else list(env_vars)
    )
    for position, env in enumerate(items):
        if not isinstance(env, dict) or not isinstance(env.get("name"), str) or not env["name"]:
            raise OVHCloudAIValidationError(f"env var #{position} needs a 'name' string (values are not shown)")
        if not isinstance(env.get("value"), str):
            raise OVHCloudAIValidationError(f"env var {env['name']!r} needs a string 'value'")
    return [{"name": env["name"], "value": env["value"]} for env in items]


def validate_volume(volume: Any, position: int) -> None:
    if not isinstance(volume, dict):
        raise OVHCloudAIValidationError(f"volume #{position} must be a dict (see build_volume)")
    mount_path = volume.get("mountPath")
    if not isinstance(mount_path, str) or not mount_path.startswith("/"):
        raise OVHCloudAIValidationError(
            f"volume #{position} has an invalid mount path {mount_path!r}: it must start with '/'"
        )
    permission = volume.get("permission")
    if permission not in VOLUME_PERMISSIONS:
        raise OVHCloudAIValidationError(
            f"volume #{position} has an invalid permission {permission!r}: use one of {list(VOLUME_PERMISSIONS)}"
        )
    source = volume.get("volumeSource") or volume
    if not any(key in source for key in ("dataStore", "publicGit", "publicSwift", "standalone", "privateSwift")):
        raise OVHCloudAIValidationError(
            f"volume #{position} has no source: give volumeSource.dataStore (container@alias), publicGit, "
            "publicSwift or standalone"
        )
    data_store = source.get("dataStore")
    if data_store is not None and (not data_store.get("container") or not data_store.get("alias")):
        raise OVHCloudAIValidationError(f"volume #{position}: dataStore needs 'alias' and 'container'")


def validate_labels(labels: dict[str, str]) -> dict[str, str]:
    if not isinstance(labels, dict):
        raise OVHCloudAIValidationError("'labels' must be a dict of strings")
    clean: dict[str, str] = {}
    for key, value in labels.items():
        key, value = str(key), str(value)
        if key.startswith("ovh/"):
            raise OVHCloudAIValidationError(f"label {key!r}: keys starting with 'ovh/' belong to the platform")
        if not _LABEL_RE.match(key):
            raise OVHCloudAIValidationError(
                f"label key {key!r} is invalid: 1-63 characters, letters, digits, '-', '_', '.', '/'"
            )
        if not _LABEL_VALUE_RE.match(value):
            raise OVHCloudAIValidationError(
                f"label {key!r} has an invalid value {value!r}: up to 63 letters, digits, '-', '_', '.'"
            )
        clean[key] = value
    return clean


def label_selector(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in labels.items())


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _require_job_id(job_id: Any) -> str:
    if not isinstance(job_id, str) or not job_id.strip() or "/" in job_id:
        raise OVHCloudAIValidationError(f"Invalid job id {job_id!r}: expected the job's UUID")
    return job_id.strip()


def _require_job(job: Any, where: str) -> dict[str, Any]:
    if not isinstance(job, dict) or not job.get("id") or not isinstance(job.get("status"), dict):
        raise OVHCloudAIResponseError(
            f"Request to OVHcloud AI Training failed: {where} -> answer is not a Job (no 'id'/'status')"
        )
    return job


# ---------------------------------------------------------------------- states and failures
def classify_state(state: str, targets: frozenset[str], failures: frozenset[str]) -> str:
    """``success``, ``failure`` or ``running``. A terminal state outside both sets is a failure."""
    if state in targets:
        return "success"
    if state in failures or state in TERMINAL_STATES:
        return "failure"
    return "running"


def job_failed_error(job: dict[str, Any]) -> OVHCloudAITrainingJobFailedError:
    status = job.get("status") or {}
    state = str(status.get("state") or "")
    details = []
    info = status.get("info") or {}
    if isinstance(info, dict) and info.get("message"):
        details.append(str(info["message"]))
    if status.get("exitCode") is not None:
        details.append(f"exit code {status['exitCode']}")
    suffix = f" ({'; '.join(details)})" if details else ""
    from ovhcloud_ai_provider.hooks.job_view import redact_job

    return OVHCloudAITrainingJobFailedError(
        f"AI Training job {job.get('id')} entered failure state: {state}{suffix}",
        job_id=str(job.get("id") or ""),
        state=state,
        job=redact_job(job),
    )


def observe_finished_job(job: dict[str, Any]) -> None:
    """Report a job seen in a terminal state: metrics and one structured log event."""
    from ovhcloud_ai_provider.observability import metrics

    status = job.get("status") or {}
    state = status.get("state")
    if state not in TERMINAL_STATES:
        return
    metrics.record_training_job_finished(job)
    log.info(
        "training_job.finished",
        ovh_job_id=job.get("id"),
        state=state,
        exit_code=status.get("exitCode"),
        duration_s=status.get("duration"),
        info=(status.get("info") or {}).get("message") if isinstance(status.get("info"), dict) else None,
    )


# ---------------------------------------------------------------------- logs
def parse_timestamp(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise OVHCloudAIValidationError(
            f"Invalid 'since' {value!r}: expected an ISO-8601 timestamp such as 2026-01-31T12:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def line_timestamp(line: str) -> datetime | None:
    match = _LOG_TS_RE.match(line)
    if not match:
        return None
    try:
        return parse_timestamp(match.group(1))
    except OVHCloudAIValidationError:
        return None


def filter_log_since(text: str, since: datetime) -> str:
    """Keep lines stamped at or after ``since``; unstamped lines follow the decision of the line above."""
    kept: list[str] = []
    keep = False
    for line in text.splitlines():
        stamp = line_timestamp(line)
        if stamp is not None:
            keep = stamp >= since
        if keep:
            kept.append(line)
    return "\n".join(kept) + ("\n" if kept else "")


__all__ = [
    "DEFAULT_FAILURE_STATES",
    "DEFAULT_TARGET_STATES",
    "JOB_STATES",
    "TERMINAL_STATES",
    "OVHCloudAITrainingHook",
    "build_job_spec",
]
