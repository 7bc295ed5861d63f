"""JobSpec validation and normalisation for ``POST /v1/job`` (ovh-api.md 1.4).

The real API echoes back a *resolved* spec: defaults filled in, resources resolved from the flavor table,
platform labels added. Validation errors become 400 ``{"message"}``. The emulator is deliberately strict
(unknown fields, lowercase permissions, non-string env values are refused) so client bugs surface in tests
rather than in production.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from .catalog import DEFAULT_CPU_FLAVOR, DEFAULT_GPU_FLAVOR, FLAVORS

SPEC_FIELDS = (
    "image",
    "name",
    "command",
    "envVars",
    "resources",
    "volumes",
    "labels",
    "sshPublicKeys",
    "defaultHttpPort",
    "grpcPort",
    "unsecureHttp",
    "timeout",
    "timeoutAutoRestart",
    "readUser",
    "shutdown",
    "partnerId",
    "deletionRequested",
)
RESOURCE_FIELDS = frozenset(
    {
        "cpu",
        "gpu",
        "flavor",
        "gpuModel",
        "gpuBrand",
        "gpuMemory",
        "memory",
        "ephemeralStorage",
        "publicNetwork",
        "privateNetwork",
    }
)
LEGACY_SOURCES = ("dataStore", "publicGit", "publicSwift", "standalone", "privateSwift")
NEW_SOURCES = ("dataStore", "publicGit", "publicSwift", "standalone", "privateSwift")
VOLUME_FIELDS = frozenset(
    {
        "mountPath",
        "permission",
        "cache",
        "volumeSource",
        "volumeTarget",
        "targetDataStore",
        "targetPrivateSwift",
    }
    | set(LEGACY_SOURCES)
)
PERMISSIONS = ("RO", "RW", "RWD")
SHUTDOWN_STRATEGIES = ("Stop",)
PLATFORM_LABEL_PREFIX = "ovh/"
LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")
LABEL_VALUE_RE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")

_ADJECTIVES = (
    "funny", "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "kind", "lively",
    "nice", "proud", "silly", "witty", "zealous", "bold", "clever", "quiet", "swift", "wise",
)  # fmt: skip


class SpecError(ValueError):
    """A JobSpec the API refuses with 400; the message is returned to the client."""


def _require_str(value: Any, what: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value):
        raise SpecError(f"{what} must be a {'string' if allow_empty else 'non-empty string'}")
    return value


def _optional_int(value: Any, what: str, *, minimum: int = 0, maximum: int | None = None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{what} must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise SpecError(f"{what} must be {bound}")
    return value


def _optional_bool(value: Any, what: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SpecError(f"{what} must be a boolean")
    return value


def generate_name(image: str, job_id: str) -> str:
    """``<adjective>-<image>`` like the platform's ``funny-ubuntu``; deterministic per job id."""
    base = image.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
    base = re.sub(r"[^a-z0-9-]+", "-", base).strip("-") or "job"
    digest = int(hashlib.sha256(job_id.encode()).hexdigest(), 16)
    return f"{_ADJECTIVES[digest % len(_ADJECTIVES)]}-{base}"


def resolve_resources(raw: Any) -> dict[str, Any]:
    """Resolve ``resources`` from the flavor table (GPU *or* CPU; nothing = 1 GPU of the default flavor)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise SpecError("resources must be an object")
    unknown = sorted(set(raw) - RESOURCE_FIELDS)
    if unknown:
        raise SpecError(f"unknown field(s) in resources: {', '.join(unknown)}")
    gpu = _optional_int(raw.get("gpu"), "resources.gpu")
    cpu = _optional_int(raw.get("cpu"), "resources.cpu")
    flavor_id = raw.get("flavor")
    if flavor_id is not None:
        flavor_id = _require_str(flavor_id, "resources.flavor")
        if flavor_id not in FLAVORS:
            raise SpecError(f"Unknown flavor '{flavor_id}'. Available flavors: {', '.join(FLAVORS)}")
    elif gpu:
        flavor_id = DEFAULT_GPU_FLAVOR
    elif cpu:
        flavor_id = DEFAULT_CPU_FLAVOR
    else:
        flavor_id = DEFAULT_GPU_FLAVOR
    flavor = FLAVORS[flavor_id]
    if flavor.type == "gpu":
        if gpu == 0:
            # [I] A GPU flavor with gpu=0 is contradictory; the real API's answer is unknown, refuse it.
            raise SpecError(f"resources.gpu must be >= 1 with the GPU flavor '{flavor_id}'")
        units = gpu or 1
        if units > flavor.max:
            raise SpecError(f"resources.gpu must be <= {flavor.max} for flavor '{flavor_id}'")
        resolved_gpu, resolved_cpu = units, units * flavor.cpu_per_unit  # cpu is ignored with GPUs
    else:
        if gpu:
            raise SpecError(f"flavor '{flavor_id}' is a CPU flavor: resources.gpu must be 0")
        units = cpu or 1
        if units > flavor.max:
            raise SpecError(f"resources.cpu must be <= {flavor.max} for flavor '{flavor_id}'")
        resolved_gpu, resolved_cpu = 0, units
    return {
        "cpu": resolved_cpu,
        "gpu": resolved_gpu,
        "flavor": flavor_id,
        "gpuModel": flavor.gpu_model,
        "gpuBrand": "NVIDIA" if flavor.type == "gpu" else None,
        "gpuMemory": flavor.gpu_memory,
        "memory": units * flavor.memory_per_unit,
        "ephemeralStorage": units * flavor.ephemeral_storage_per_unit,
        "publicNetwork": units * flavor.public_network_per_unit,
        "privateNetwork": units * flavor.private_network_per_unit,
    }


def _validate_source(kind: str, value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}.{kind} must be an object")
    if kind == "dataStore":
        _require_str(value.get("alias"), f"{where}.dataStore.alias")
        _require_str(value.get("container"), f"{where}.dataStore.container")
        if value.get("prefix") is not None:
            _require_str(value["prefix"], f"{where}.dataStore.prefix", allow_empty=True)
    elif kind in ("publicGit", "publicSwift"):
        _require_str(value.get("url"), f"{where}.{kind}.url")
    elif kind == "privateSwift":
        _require_str(value.get("container"), f"{where}.privateSwift.container")
        _require_str(value.get("region"), f"{where}.privateSwift.region")
    elif kind == "standalone" and value.get("name") is not None:
        _require_str(value["name"], f"{where}.standalone.name")


def validate_volume(raw: Any, index: int, *, strict: bool) -> dict[str, Any]:
    """Validate one volume (legacy top-level source keys *or* ``volumeSource``) and echo it back."""
    where = f"volumes[{index}]"
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where} must be an object")
    if strict:
        unknown = sorted(set(raw) - VOLUME_FIELDS)
        if unknown:
            raise SpecError(f"unknown field(s) in {where}: {', '.join(unknown)}")
    mount = raw.get("mountPath")
    if not isinstance(mount, str) or not mount.startswith("/"):
        raise SpecError(f"{where}.mountPath is required and must start with '/'")
    if raw.get("permission") not in PERMISSIONS:
        raise SpecError(f"{where}.permission must be one of {', '.join(PERMISSIONS)}")
    _optional_bool(raw.get("cache"), f"{where}.cache", False)
    legacy = [k for k in LEGACY_SOURCES if raw.get(k) is not None]
    source = raw.get("volumeSource")
    if source is not None and legacy:
        raise SpecError(f"{where}: use either volumeSource or a top-level source ({legacy[0]}), not both")
    if source is not None:
        if not isinstance(source, Mapping):
            raise SpecError(f"{where}.volumeSource must be an object")
        kinds = [k for k in NEW_SOURCES if source.get(k) is not None]
        if len(kinds) != 1:
            raise SpecError(f"{where}.volumeSource must set exactly one of {', '.join(NEW_SOURCES)}")
        _validate_source(kinds[0], source[kinds[0]], f"{where}.volumeSource")
    else:
        if len(legacy) != 1:
            raise SpecError(
                f"{where} needs exactly one source: volumeSource or one of {', '.join(LEGACY_SOURCES)}"
            )
        _validate_source(legacy[0], raw[legacy[0]], where)
    target = raw.get("volumeTarget")
    if target is not None and not isinstance(target, Mapping):
        raise SpecError(f"{where}.volumeTarget must be an object")
    for key in ("targetDataStore", "targetPrivateSwift"):
        if raw.get(key) is not None and not isinstance(raw[key], Mapping):
            raise SpecError(f"{where}.{key} must be an object")
    echoed = dict(raw)
    echoed.setdefault("cache", False)
    return echoed


def validate_label(key: Any, value: Any) -> None:
    """Kubernetes-like label rules: 1-63 chars of ``[A-Za-z0-9_.-]`` (values may be empty)."""
    if not isinstance(key, str) or not LABEL_KEY_RE.match(key):
        raise SpecError(f"invalid label key {key!r}: 1-63 characters among [A-Za-z0-9_.-]")
    if not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
        raise SpecError(f"invalid value for label {key!r}: up to 63 characters among [A-Za-z0-9_.-]")


def user_labels(raw: Any) -> dict[str, str]:
    """User labels, validated, with platform-owned ``ovh/`` keys dropped (the platform overwrites them)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError("labels must be an object of string to string")
    labels: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(key, str) and key.startswith(PLATFORM_LABEL_PREFIX):
            continue
        validate_label(key, value)
        labels[key] = value
    return labels


def normalize_spec(raw: Any, *, job_id: str, strict: bool) -> dict[str, Any]:
    """Validate a JobSpec and return the resolved spec the API echoes back in ``Job.spec``."""
    if not isinstance(raw, Mapping):
        raise SpecError("Invalid job spec: expected a JSON object")
    if strict:
        unknown = sorted(set(raw) - set(SPEC_FIELDS))
        if unknown:
            raise SpecError(f"Unknown field(s) in job spec: {', '.join(unknown)}")
    image = _require_str(raw.get("image"), "image").strip()
    if not image or any(c.isspace() for c in image):
        raise SpecError("image must be a non-empty image reference without spaces")
    name = raw.get("name")
    name = generate_name(image, job_id) if name is None else _require_str(name, "name")
    command = raw.get("command")
    if command is not None and (
        not isinstance(command, list) or not all(isinstance(c, str) for c in command)
    ):
        raise SpecError("command must be a list of strings")
    env_vars = raw.get("envVars") or []
    if not isinstance(env_vars, list):
        raise SpecError("envVars must be a list of {name, value}")
    echoed_env = []
    for i, env in enumerate(env_vars):
        if not isinstance(env, Mapping) or set(env) - {"name", "value"}:
            raise SpecError(f"envVars[{i}] must be an object with 'name' and 'value'")
        _require_str(env.get("name"), f"envVars[{i}].name")
        _require_str(env.get("value", ""), f"envVars[{i}].value", allow_empty=True)
        echoed_env.append({"name": env["name"], "value": env.get("value", "")})
    volumes_raw = raw.get("volumes") or []
    if not isinstance(volumes_raw, list):
        raise SpecError("volumes must be a list")
    volumes = [validate_volume(v, i, strict=strict) for i, v in enumerate(volumes_raw)]
    mounts = [v["mountPath"] for v in volumes]
    if len(set(mounts)) != len(mounts):
        raise SpecError("two volumes use the same mountPath")
    labels = user_labels(raw.get("labels"))
    labels["ovh/id"] = job_id
    labels["ovh/type"] = "job"
    ssh_keys = raw.get("sshPublicKeys") or []
    if not isinstance(ssh_keys, list) or not all(isinstance(k, str) for k in ssh_keys):
        raise SpecError("sshPublicKeys must be a list of strings")
    shutdown = raw.get("shutdown")
    if shutdown is not None and shutdown not in SHUTDOWN_STRATEGIES:
        raise SpecError(f"shutdown must be one of {', '.join(SHUTDOWN_STRATEGIES)}")
    for key in ("readUser", "partnerId"):
        if raw.get(key) is not None:
            _require_str(raw[key], key)
    return {
        "name": name,
        "image": image,
        "command": list(command) if command is not None else None,
        "envVars": echoed_env,
        "resources": resolve_resources(raw.get("resources")),
        "volumes": volumes,
        "labels": labels,
        "sshPublicKeys": list(ssh_keys),
        "defaultHttpPort": _optional_int(
            raw.get("defaultHttpPort"), "defaultHttpPort", minimum=1, maximum=65535
        )
        or 8080,
        "grpcPort": _optional_int(raw.get("grpcPort"), "grpcPort", minimum=1, maximum=65535),
        "unsecureHttp": _optional_bool(raw.get("unsecureHttp"), "unsecureHttp", False),
        "timeout": _optional_int(raw.get("timeout"), "timeout") or 0,
        "timeoutAutoRestart": _optional_bool(raw.get("timeoutAutoRestart"), "timeoutAutoRestart", False),
        "readUser": raw.get("readUser"),
        "shutdown": shutdown,
        "partnerId": raw.get("partnerId"),
        "deletionRequested": False,
    }
