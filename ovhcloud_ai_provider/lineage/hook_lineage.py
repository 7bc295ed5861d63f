"""Hook-level lineage: what a hook read and wrote, for users calling hooks inside ``@task`` functions.

The hooks call these functions after each successful request. They add assets to Airflow's hook lineage
collector (``get_hook_lineage_collector().add_input_asset/add_output_asset``); when the task's operator reports
no inputs/outputs of its own (``@task``, ``PythonOperator``), the OpenLineage provider turns the collected assets
into the task's datasets through the ``ovhai`` asset converter (see :mod:`ovhcloud_ai_provider.lineage.assets`).

* ``report_inference_call`` -> input: the model (same ``(namespace, name)`` and facets as the operators).
* ``report_training_job`` -> inputs: RO volumes; outputs: RW/RWD volumes (rules in :mod:`.volumes`).

Both never raise, and do nothing (cheaply) when no hook lineage reader is registered, i.e. when OpenLineage
is not enabled. Standard library only at import time.
"""

from __future__ import annotations

from typing import Any

from ovhcloud_ai_provider.lineage._common import warn

__all__ = ["report_inference_call", "report_training_job"]


def _readers_registered() -> bool:
    """False when Airflow certainly has no hook lineage reader (OpenLineage not active in this process).

    Then the collector is not even created: creating it (or loading plugins just to ask) costs seconds,
    and hooks used outside Airflow tasks (scripts, unit tests) must not pay that on their first request.
    Inside a task the plugins are already loaded (listeners come from plugins), so the check is free there.
    """
    try:
        from airflow.sdk import lineage, plugins_manager
    except Exception:
        return True
    try:
        if lineage.get_hook_lineage_collector.cache_info().currsize:
            return True  # already created by someone: use it
        if not plugins_manager._get_plugins.cache_info().currsize:
            return False  # plugins never loaded: no OpenLineage listener, nobody reads the collector
    except AttributeError:
        pass
    try:
        return bool(plugins_manager.get_hook_lineage_readers_plugins())
    except Exception:
        return True


def _collector() -> Any | None:
    """Airflow's hook lineage collector, or None when nothing would read it."""
    if not _readers_registered():
        return None
    try:
        from airflow.providers.common.compat.lineage.hook import get_hook_lineage_collector
    except ImportError:
        try:
            from airflow.sdk.lineage import get_hook_lineage_collector  # type: ignore[no-redef]
        except ImportError:
            return None
    collector = get_hook_lineage_collector()
    if type(collector).__name__ == "NoOpCollector":
        return None
    return collector


def report_inference_call(hook: Any, *, endpoint_base_url: str, model: str, operation: str) -> None:
    """Record that ``hook`` used ``model`` (an input dataset of the running task)."""
    try:
        collector = _collector()
        if collector is None:
            return
        from ovhcloud_ai_provider.lineage.assets import asset_uri, ensure_registered
        from ovhcloud_ai_provider.lineage.naming import model_dataset

        ensure_registered()
        namespace, name = model_dataset(endpoint_base_url, model)
        collector.add_input_asset(
            context=hook,
            uri=asset_uri(namespace, name),
            asset_extra={
                "ovhai": {"kind": "model", "task": str(operation), "provider": "ovhcloud-ai-endpoints"}
            },
        )
    except Exception as exc:
        warn("lineage.report_inference_call_failed", exc)


def report_training_job(hook: Any, *, spec: dict[str, Any]) -> None:
    """Record the volumes of a submitted JobSpec: RO as inputs, RW/RWD as outputs."""
    try:
        collector = _collector()
        if collector is None:
            return
        from ovhcloud_ai_provider.lineage.assets import asset_uri, ensure_registered
        from ovhcloud_ai_provider.lineage.volumes import plan_training_datasets

        ensure_registered()
        for planned in plan_training_datasets(spec):
            info = planned.volume
            meta = {
                "kind": "volume",
                "sourceType": info.source_type,
                "alias": info.alias,
                "storeType": info.store.type if info.store else None,
                "endpoint": info.store.endpoint if info.store else None,
                "container": info.container,
                "prefix": info.prefix,
                "url": info.url,
                "mountPath": info.mount_path,
                "permission": info.permission,
                "cache": info.cache,
            }
            add = collector.add_input_asset if planned.role == "input" else collector.add_output_asset
            add(
                context=hook,
                uri=asset_uri(planned.namespace, planned.name),
                asset_extra={"ovhai": {k: v for k, v in meta.items() if v is not None}},
            )
    except Exception as exc:
        warn("lineage.report_training_job_failed", exc)
