"""OpenLineage dataset naming: the ONE place that turns OVHcloud AI objects into ``(namespace, name)``.

Standard library only (imported from hooks and from the Airflow asset-URI registry).
Decisions, with their justification, are in ``docs/lineage.md``; in short:

========================================  ===================================  =================================
object                                    namespace                            name
========================================  ===================================  =================================
data store volume, S3 alias (default)     ``s3://<container>``                 ``<prefix>`` or ``/``
data store volume, OVH Swift alias        ``swift://<region>``                 ``<container>`` or
(GRA BHS DE SBG SGP UK WAW)                                                    ``<container>/<prefix>``
``privateSwift`` (deprecated)             ``swift://<region>``                 same as above
``publicGit`` / ``publicSwift`` URL       ``<scheme>://<host[:port]>``         URL path (no ``.git``, no query)
``standalone`` volume                     no dataset (``None``)
AI Endpoints model                        endpoint origin                      model id
========================================  ===================================  =================================

Prefixes and paths lose their leading and trailing ``/`` (Airflow's own S3 assets do the same), user info,
query strings and fragments are always dropped (they can hold credentials), and every namespace is checked
against Marquez's namespace pattern (invalid characters become ``_``).

The store type of a data store alias can be overridden with the Airflow option
``[ovhcloud_ai] lineage_datastores`` (env ``AIRFLOW__OVHCLOUD_AI__LINEAGE_DATASTORES``), a JSON object
``{"<ALIAS>": {"type": "s3"|"swift", "endpoint": "https://...", "region": "gra"}}``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MARQUEZ_NAMESPACE_RE",
    "OVH_SWIFT_ALIASES",
    "DatastoreInfo",
    "VolumeInfo",
    "clean_url",
    "datastore_info",
    "describe_volume",
    "endpoint_origin",
    "is_valid_marquez_namespace",
    "model_dataset",
    "url_dataset",
    "volume_dataset",
]

#: Namespace pattern enforced by Marquez (``marquez.common.models.NamespaceName``).
MARQUEZ_NAMESPACE_RE = re.compile(r"^[a-zA-Z:;=/0-9_\-\.@+]{1,1024}$")
_NAMESPACE_BAD_CHARS = re.compile(r"[^a-zA-Z:;=/0-9_\-\.@+]")

#: Data store aliases owned by OVHcloud. They are all of type ``swift`` and have no S3 endpoint.
OVH_SWIFT_ALIASES = frozenset({"GRA", "BHS", "DE", "SBG", "SGP", "UK", "WAW"})

DATASTORES_OPTION = ("ovhcloud_ai", "lineage_datastores")
DATASTORES_ENV = "AIRFLOW__OVHCLOUD_AI__LINEAGE_DATASTORES"

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_valid_marquez_namespace(namespace: str) -> bool:
    """True when Marquez accepts ``namespace`` (it answers 400 to an event with any other namespace)."""
    return bool(isinstance(namespace, str) and MARQUEZ_NAMESPACE_RE.match(namespace))


def _safe_namespace(namespace: str) -> str:
    namespace = _NAMESPACE_BAD_CHARS.sub("_", namespace)[:1024]
    return namespace or "default"


def _clean_path(path: str | None) -> str:
    """``/a/b/`` -> ``a/b``; empty -> ``/`` (the whole container or host)."""
    cleaned = str(path or "").strip().strip("/")
    return cleaned or "/"


def _join(container: str, prefix: str | None) -> str:
    rest = str(prefix or "").strip().strip("/")
    return f"{container}/{rest}" if rest else container


# ---------------------------------------------------------------------------------------------- data stores
@dataclass(frozen=True)
class DatastoreInfo:
    """What lineage knows about a data store alias."""

    alias: str
    type: str  # "s3" | "swift"
    endpoint: str | None = None  # S3 endpoint or Swift storage URL, when known
    region: str | None = None  # lowercase


def _configured_datastores() -> dict[str, dict[str, Any]]:
    raw = os.environ.get(DATASTORES_ENV)
    if raw is None:  # airflow.cfg form; only read when Airflow is importable (always the case inside a task)
        for module in ("airflow.sdk.configuration", "airflow.configuration"):
            try:
                conf = importlib.import_module(module).conf
                raw = conf.get(*DATASTORES_OPTION, fallback=None)
                break
            except Exception:
                continue
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k).upper(): v for k, v in parsed.items() if isinstance(v, dict)}


def datastore_info(alias: str) -> DatastoreInfo:
    """Store type of a data store alias.

    OVHcloud's own aliases (``GRA``, ``BHS``, ``DE``, ``SBG``, ``SGP``, ``UK``, ``WAW``) are Swift stores in the
    region of the same name; every other alias is a customer-added S3 store (``ovhai datastore add s3 ...``),
    unless ``[ovhcloud_ai] lineage_datastores`` says otherwise.
    """
    key = str(alias or "").strip().upper()
    conf = _configured_datastores().get(key)
    if conf:
        store_type = str(conf.get("type") or "s3").lower()
        store_type = store_type if store_type in ("s3", "swift") else "s3"
        region = str(conf["region"]).lower() if conf.get("region") else None
        if store_type == "swift" and region is None:
            region = key.lower()
        endpoint = _strip_credentials(str(conf["endpoint"])) if conf.get("endpoint") else None
        return DatastoreInfo(alias=key, type=store_type, endpoint=endpoint, region=region)
    if key in OVH_SWIFT_ALIASES:
        region = key.lower()
        return DatastoreInfo(
            alias=key, type="swift", endpoint=f"https://storage.{region}.cloud.ovh.net", region=region
        )
    return DatastoreInfo(alias=key, type="s3")


# ---------------------------------------------------------------------------------------------- URLs
def clean_url(url: str | None) -> str | None:
    """A URL safe to record: no user info, query or fragment; ``https://`` added when the scheme is missing."""
    if not url or not str(url).strip():
        return None
    url = str(url).strip()
    if "://" not in url:
        url = "https://" + url
    return _strip_credentials(url) or None


def _strip_credentials(url: str) -> str:
    """Drop user info, query and fragment from a URL (they may carry tokens or temp-URL signatures)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return url.split("?", 1)[0].split("#", 1)[0]
    return f"{parts.scheme.lower()}://{_authority(parts.scheme, parts.netloc)}{parts.path}"


def _authority(scheme: str, netloc: str) -> str:
    host_port = netloc.rpartition("@")[2].lower()
    if host_port.startswith("["):  # IPv6 literal: brackets are not allowed in Marquez namespaces
        host, _, port = host_port[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = host_port.partition(":")
    if port and _DEFAULT_PORTS.get(scheme.lower()) == port:
        port = ""
    return f"{host}:{port}" if port else host


_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.\-]+):(?P<path>[^/].*)$")


def url_dataset(url: str, *, strip_git_suffix: bool = False) -> tuple[str, str] | None:
    """Generic rule for a URL: namespace ``scheme://host[:port]``, name = path (``/`` when empty).

    Also accepts scp-like git addresses (``git@github.com:org/repo.git`` -> ``ssh://github.com``).
    """
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme and parts.netloc:
        scheme, authority, path = parts.scheme.lower(), _authority(parts.scheme, parts.netloc), parts.path
    else:
        match = _SCP_LIKE.match(url)
        if not match:
            return None
        scheme, authority, path = "ssh", match.group("host").lower(), match.group("path")
    name = _clean_path(path)
    if strip_git_suffix and name.endswith(".git") and name != ".git":
        name = name[: -len(".git")].rstrip("/") or "/"
    return _safe_namespace(f"{scheme}://{authority}"), name


# ---------------------------------------------------------------------------------------------- volumes
@dataclass(frozen=True)
class VolumeInfo:
    """A volume of a JobSpec, whatever shape it was given in (``volumeSource.*`` or legacy top-level keys)."""

    source_type: str  # dataStore | publicGit | publicSwift | privateSwift | standalone | unknown
    mount_path: str | None
    permission: str  # RO | RW | RWD (upper case; RO when missing)
    cache: bool | None
    alias: str | None = None
    container: str | None = None
    prefix: str | None = None
    url: str | None = None  # publicGit / publicSwift, without credentials or query
    store: DatastoreInfo | None = None
    namespace: str | None = None
    name: str | None = None
    target: VolumeInfo | None = None  # volumeTarget.targetDataStore / legacy targetDataStore

    @property
    def dataset(self) -> tuple[str, str] | None:
        if self.namespace is None or self.name is None:
            return None
        return self.namespace, self.name


def _get(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def _datastore_naming(data_store: dict[str, Any]) -> tuple[DatastoreInfo, str, str, str | None]:
    alias = str(data_store.get("alias") or "").strip()
    container = str(data_store.get("container") or "").strip()
    prefix_raw = data_store.get("prefix")
    prefix = str(prefix_raw).strip().strip("/") if prefix_raw else None
    store = datastore_info(alias)
    if store.type == "swift":
        namespace = _safe_namespace(f"swift://{store.region or alias.lower() or 'default'}")
        name = _join(container, prefix) if container else _clean_path(prefix)
    else:
        namespace = _safe_namespace(f"s3://{container}") if container else "s3://"
        name = _clean_path(prefix)
    return store, namespace, name, prefix or None


_SOURCE_KEYS = {
    "dataStore": ("dataStore", "data_store"),
    "privateSwift": ("privateSwift", "private_swift"),
}
_TARGET_KEYS = {
    "dataStore": ("targetDataStore", "target_data_store"),
    "privateSwift": ("targetPrivateSwift", "target_private_swift"),
}

_PUBLIC_KEYS = (
    ("publicGit", "publicGit", True),
    ("public_git", "publicGit", True),
    ("publicSwift", "publicSwift", False),
    ("public_swift", "publicSwift", False),
)


def _describe_source(source: dict[str, Any], common: dict[str, Any], *, target: bool = False) -> VolumeInfo:
    keys = _TARGET_KEYS if target else _SOURCE_KEYS
    data_store = _get(source, *keys["dataStore"])
    if isinstance(data_store, dict):
        store, namespace, name, prefix = _datastore_naming(data_store)
        return VolumeInfo(
            source_type="dataStore",
            alias=store.alias or None,
            container=str(data_store.get("container") or "") or None,
            prefix=prefix,
            store=store,
            namespace=namespace,
            name=name,
            **common,
        )
    private_swift = _get(source, *keys["privateSwift"])
    if isinstance(private_swift, dict):
        region = str(private_swift.get("region") or "").strip().lower()
        container = str(private_swift.get("container") or "").strip()
        prefix_raw = private_swift.get("prefix")
        prefix = str(prefix_raw).strip().strip("/") if prefix_raw else None
        store = DatastoreInfo(
            alias=region.upper(),
            type="swift",
            endpoint=f"https://storage.{region}.cloud.ovh.net" if region else None,
            region=region or None,
        )
        return VolumeInfo(
            source_type="privateSwift",
            container=container or None,
            prefix=prefix or None,
            store=store,
            namespace=_safe_namespace(f"swift://{region or 'default'}"),
            name=_join(container, prefix) if container else _clean_path(prefix),
            **common,
        )
    if target:
        return VolumeInfo(source_type="unknown", **common)
    for key, source_type, git in _PUBLIC_KEYS:
        public = source.get(key)
        if isinstance(public, dict):
            url = str(public.get("url") or "")
            dataset = url_dataset(url, strip_git_suffix=git)
            return VolumeInfo(
                source_type=source_type,
                url=_strip_credentials(url) or None,
                namespace=dataset[0] if dataset else None,
                name=dataset[1] if dataset else None,
                **common,
            )
    if "standalone" in source:
        return VolumeInfo(source_type="standalone", **common)
    return VolumeInfo(source_type="unknown", **common)


def describe_volume(volume: dict[str, Any]) -> VolumeInfo | None:
    """Parse one JobSpec volume (camelCase as sent to the API; snake_case keys are tolerated)."""
    if not isinstance(volume, dict):
        return None
    permission = str(_get(volume, "permission") or "RO").strip().upper()
    cache = _get(volume, "cache")
    mount_path = _get(volume, "mountPath", "mount_path")
    common: dict[str, Any] = {
        "mount_path": str(mount_path) if mount_path is not None else None,
        "permission": permission,
        "cache": bool(cache) if cache is not None else None,
    }
    source = _get(volume, "volumeSource", "volume_source")
    info = _describe_source(source if isinstance(source, dict) else volume, common)
    target_spec = _get(volume, "volumeTarget", "volume_target")
    if not isinstance(target_spec, dict):  # legacy top-level targets
        target_spec = {
            k: volume[k]
            for k in ("targetDataStore", "target_data_store", "targetPrivateSwift", "target_private_swift")
            if isinstance(volume.get(k), dict)
        } or None
    if isinstance(target_spec, dict):
        target = _describe_source(target_spec, common, target=True)
        if target.dataset is not None:
            info = replace(info, target=target)
    return info


def volume_dataset(volume: dict[str, Any], *, target: bool = False) -> tuple[str, str] | None:
    """``(namespace, name)`` of the data behind a JobSpec volume; ``None`` for standalone volumes.

    With ``target=True``: the dataset the volume is synced back to when it has a ``volumeTarget``
    (``None`` when it has none).
    """
    info = describe_volume(volume)
    if info is None:
        return None
    if target:
        return info.target.dataset if info.target is not None else None
    return info.dataset


# ---------------------------------------------------------------------------------------------- models
def endpoint_origin(endpoint_base_url: str) -> str:
    """``https://oai.endpoints.kepler.ai.cloud.ovh.net/v1`` -> ``https://oai.endpoints.kepler.ai.cloud.ovh.net``."""
    url = str(endpoint_base_url or "").strip()
    if url and "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or not parts.netloc:
        return "https://unknown"
    scheme = (parts.scheme or "https").lower()
    return _safe_namespace(f"{scheme}://{_authority(scheme, parts.netloc)}")


def model_dataset(endpoint_base_url: str, model: str) -> tuple[str, str]:
    """Model served by AI Endpoints: namespace = endpoint origin, name = the model id sent in requests."""
    name = str(model or "").strip() or "unknown"
    return endpoint_origin(endpoint_base_url), name
