"""Airflow asset URIs for hook-level lineage: scheme ``ovhai``.

Hooks report what they read and write to Airflow's hook lineage collector as *assets*; the OpenLineage
provider turns a collected asset into an OpenLineage dataset only through a converter registered for the
asset's URI scheme (``asset-uris`` in provider info). ``s3://`` has a converter only when
apache-airflow-providers-amazon is installed, and a model has no URI scheme at all, so every asset this provider
reports uses its own scheme, which carries the exact ``(namespace, name)`` of ``naming``::

    ovhai://<namespace scheme>/<namespace authority>/<name>
    ovhai://s3/training-data/imagenet/train         -> ("s3://training-data", "imagenet/train")
    ovhai://swift/gra/models/resnet                 -> ("swift://gra", "models/resnet")
    ovhai://https/oai.endpoints.kepler.ai.cloud.ovh.net/bge-m3
                                                    -> ("https://oai.endpoints.kepler.ai.cloud.ovh.net", "bge-m3")

The converter re-creates the same dataset facets as the operators' lineage from the asset's ``extra``
(``{"ovhai": {...}}``), so a dataset looks the same in Marquez whichever path reported it.

Registration, in ``get_provider_info()``::

    "asset-uris": [{"schemes": ["ovhai"],
                    "handler": "ovhcloud_ai_provider.lineage.assets.sanitize_uri",
                    "factory": "ovhcloud_ai_provider.lineage.assets.create_asset",
                    "to_openlineage_converter": "ovhcloud_ai_provider.lineage.assets.convert_asset_to_openlineage"}]

:func:`ensure_registered` adds the same three entries to the task runtime's provider manager when they are
missing (for example when the package is used without being installed as a distribution).

Standard library only at import time: Airflow imports this module while discovering providers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

if TYPE_CHECKING:
    from openlineage.client.event_v2 import Dataset

SCHEME = "ovhai"
EXTRA_KEY = "ovhai"
_SAFE = "/:@+=;-._~"

__all__ = [
    "SCHEME",
    "asset_uri",
    "convert_asset_to_openlineage",
    "create_asset",
    "ensure_registered",
    "parse_asset_uri",
    "sanitize_uri",
]


def asset_uri(namespace: str, name: str) -> str:
    """Asset URI carrying an OpenLineage ``(namespace, name)``."""
    ns_scheme, sep, authority = namespace.partition("://")
    if not sep:
        ns_scheme, authority = namespace, ""
    path = "" if name == "/" else quote(name.strip("/"), safe=_SAFE)
    uri = f"{SCHEME}://{quote(ns_scheme, safe='+-.')}/{quote(authority, safe=_SAFE)}"
    return f"{uri}/{path}" if path else uri


def parse_asset_uri(uri: str) -> tuple[str, str]:
    """Inverse of :func:`asset_uri`."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != SCHEME or not parts.netloc:
        raise ValueError(f"not an {SCHEME}:// asset URI: {uri!r}")
    authority, _, rest = parts.path.lstrip("/").partition("/")
    ns_scheme = unquote(parts.netloc)
    authority = unquote(authority)
    namespace = f"{ns_scheme}://{authority}" if authority else ns_scheme
    name = unquote(rest).strip("/") or "/"
    return namespace, name


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow URI handler for ``ovhai://``: needs the namespace scheme and authority."""
    if not uri.netloc:
        raise ValueError("URI format ovhai:// must contain the namespace scheme, e.g. ovhai://s3/bucket/key")
    if not uri.path.strip("/"):
        raise ValueError("URI format ovhai:// must contain the namespace authority, e.g. ovhai://s3/bucket")
    return uri


def create_asset(*, namespace: str, name: str, extra: dict[str, Any] | None = None) -> Any:
    """Airflow asset factory: ``collector.add_input_asset(hook, scheme="ovhai", asset_kwargs={...})``."""
    from airflow.sdk import Asset

    return Asset(uri=asset_uri(namespace, name), extra=extra or {})


def convert_asset_to_openlineage(asset: Any, lineage_context: Any) -> Dataset:
    """Airflow asset -> OpenLineage dataset, with the same facets the operators' lineage builds."""
    from openlineage.client.event_v2 import Dataset

    namespace, name = parse_asset_uri(asset.uri)
    meta = (getattr(asset, "extra", None) or {}).get(EXTRA_KEY) or {}
    facets: dict[str, Any] = {}
    try:
        facets = _facets(namespace, name, meta)
    except Exception:  # a dataset without facets is better than no dataset
        facets = {}
    return Dataset(namespace=namespace, name=name, facets=facets)


def _facets(namespace: str, name: str, meta: dict[str, Any]) -> dict[str, Any]:
    from ovhcloud_ai_provider.lineage.facets import model_dataset_facets, volume_dataset_facets

    kind = meta.get("kind")
    if kind == "model":
        return model_dataset_facets(
            namespace=namespace,
            model=name,
            task=str(meta.get("task") or "chat"),
            provider=str(meta.get("provider") or "ovhcloud-ai-endpoints"),
        )
    if kind == "volume":
        return volume_dataset_facets(
            source_type=str(meta.get("sourceType") or "dataStore"),
            alias=meta.get("alias"),
            store_type=meta.get("storeType"),
            endpoint=meta.get("endpoint"),
            container=meta.get("container"),
            prefix=meta.get("prefix"),
            url=meta.get("url"),
            mount_path=meta.get("mountPath"),
            permission=meta.get("permission"),
            cache=meta.get("cache"),
        )
    return {}


def ensure_registered() -> bool:
    """Make sure the task runtime knows the ``ovhai`` scheme (normally done by provider info). Never raises."""
    try:
        try:
            from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
        except ImportError:  # pragma: no cover - older Airflow
            from airflow.sdk.plugins_manager import ProvidersManagerTaskRuntime  # type: ignore[no-redef]
        manager = ProvidersManagerTaskRuntime()
        manager.asset_uri_handlers.setdefault(SCHEME, sanitize_uri)
        manager.asset_factories.setdefault(SCHEME, create_asset)
        manager.asset_to_openlineage_converters.setdefault(SCHEME, convert_asset_to_openlineage)
        return True
    except Exception:
        return False
