"""Read the ``[ovhcloud_ai]`` options cheaply, without importing Airflow.

The metrics functions run on every HTTP call, so option lookup must cost a dict access. Order of precedence
for an option ``key``:

1. env ``AIRFLOW__OVHCLOUD_AI__<KEY>`` (Airflow's own env override of ``[ovhcloud_ai] <key>``);
2. env ``OVHCLOUD_AI_<KEY>`` (short form, handy outside Airflow, e.g. for the exporter);
3. ``[ovhcloud_ai] <key>`` from Airflow's config, but only when Airflow's configuration module is *already*
   imported (always true inside a task, triggerer or worker process). Importing it ourselves costs ~2.5 s
   and may write an ``airflow.cfg``; a library must not do that on a hot path. A value equal to the default
   the provider registers with Airflow counts as unset (the code's own default logic applies).

Values are cached per process; :func:`clear_cache` exists for tests and for callers that change the
environment on purpose.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Final

SECTION: Final = "ovhcloud_ai"

_cache: dict[str, str | None] = {}
_lock = threading.Lock()

# Airflow 3 task processes load the SDK's parser; scheduler/api-server processes load the core one.
_AIRFLOW_CONF_MODULES: Final = ("airflow.sdk.configuration", "airflow.configuration")


def _from_airflow_conf(key: str) -> str | None:
    for module_name in _AIRFLOW_CONF_MODULES:
        module = sys.modules.get(module_name)
        conf = getattr(module, "conf", None) if module is not None else None
        if conf is None:
            continue
        try:
            value = conf.get(SECTION, key, fallback=None)
            if value in (None, ""):
                continue
            # The provider registers its options with defaults (get_provider_info "config"). A value equal to
            # that registered default is not a choice the deployment made: report "unset", so our own
            # defaults apply (notably metrics_mode turning itself on when PROMETHEUS_MULTIPROC_DIR is set).
            default = getattr(conf, "get_default_value", None)
            if default is not None and str(value) == str(default(SECTION, key, fallback=None)):
                continue
        except Exception:  # a half-initialised or exotic conf must never break metrics
            continue
        return str(value)
    return None


def _lookup(key: str) -> str | None:
    upper = key.upper()
    for env_name in (f"AIRFLOW__{SECTION.upper()}__{upper}", f"OVHCLOUD_AI_{upper}"):
        value = os.environ.get(env_name)
        if value is not None and value.strip() != "":
            return value.strip()
    return _from_airflow_conf(key)


def get_option(key: str) -> str | None:
    """Return ``[ovhcloud_ai] <key>`` (see the module docstring for precedence), or ``None`` when unset."""
    try:
        return _cache[key]
    except KeyError:
        pass
    value = _lookup(key)
    with _lock:
        _cache[key] = value
    return value


def get_bool(key: str, default: bool = False) -> bool:
    """Boolean option: ``1/true/yes/on`` are true, ``0/false/no/off`` false, anything else ``default``."""
    value = get_option(key)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    return default


def clear_cache() -> None:
    """Forget cached option values (tests; a process that edits its own environment)."""
    with _lock:
        _cache.clear()


__all__ = ["SECTION", "clear_cache", "get_bool", "get_option"]
