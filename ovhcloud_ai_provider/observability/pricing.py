"""Price catalog and cost *estimates* for LLM tokens and AI Training jobs.

The shipped ``prices.json`` holds OVHcloud list prices with their source and date (ovh-api.md 1.8, 2.5);
several are approximate. A deployment can override or extend it with a JSON (or YAML) file named by
``[ovhcloud_ai] price_catalog`` / ``AIRFLOW__OVHCLOUD_AI__PRICE_CATALOG`` / ``OVHCLOUD_AI_PRICE_CATALOG``:

* entries are merged per model / per flavor, field by field, over the shipped ones;
* if the override declares a ``currency`` different from the shipped one, the shipped prices are dropped
  entirely, so one metric never mixes two currencies (``sum()`` must stay meaningful).

An unknown model or flavor has no price: tokens are still counted, the cost is ``None`` (no cost sample).
The catalog is loaded once per process, on first use.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ovhcloud_ai_provider.observability import config, jobfacts
from ovhcloud_ai_provider.observability.logging import warn_once

SHIPPED_CATALOG = Path(__file__).with_name("prices.json")
_MODEL_PREFIXES = ("ovhcloud/",)  # litellm's routing prefix seen in OVH's own tutorials (ovh-api.md 2.5)


class PriceCatalog:
    """Merged price data plus the lookups the recorders need."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.currency = str(data.get("currency") or "EUR")
        self.granularity_s = float(data.get("training_billing_granularity_seconds") or 0)
        self.models: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (data.get("models") or {}).items()}
        self.flavors: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (data.get("flavors") or {}).items()}
        self._models_folded = {name.lower(): name for name in self.models}
        self._model_cache: dict[str, dict[str, Any] | None] = {}
        self.flavor_models = {
            fid: str(entry["gpu_model"]) for fid, entry in self.flavors.items() if entry.get("gpu_model")
        }

    def model_entry(self, model: str) -> dict[str, Any] | None:
        """Exact id, then without the ``ovhcloud/`` prefix, then case-insensitively (memoised per id)."""
        try:
            return self._model_cache[model]
        except KeyError:
            pass
        entry = self._lookup_model(model)
        if len(self._model_cache) < 1024:
            self._model_cache[model] = entry
        return entry

    def _lookup_model(self, model: str) -> dict[str, Any] | None:
        candidates = [model, *(model[len(p) :] for p in _MODEL_PREFIXES if model.startswith(p))]
        for candidate in candidates:
            if candidate in self.models:
                return self.models[candidate]
            folded = self._models_folded.get(candidate.lower())
            if folded is not None:
                return self.models[folded]
        return None

    def flavor_entry(self, job: Mapping[str, Any]) -> dict[str, Any] | None:
        flavor_id = jobfacts.flavor(job)
        if flavor_id in self.flavors:
            return self.flavors[flavor_id]
        # Unknown flavor id: fall back on any GPU-hour flavor of the same GPU model.
        model = jobfacts.gpu_model(job, self.flavor_models)
        unit = "gpu_hour" if jobfacts.gpu_count(job) > 0 else "vcpu_hour"
        for entry in self.flavors.values():
            if entry.get("unit") == unit and str(entry.get("gpu_model")) == model:
                return entry
        return None


def _read_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        loaded = yaml.safe_load(text)
    else:
        loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"price catalog {path} must be a mapping at top level")
    return loaded


def merge_catalogs(shipped: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Field-by-field merge of ``override`` over ``shipped`` (see the module docstring for currency)."""
    merged: dict[str, Any] = {k: v for k, v in shipped.items() if k not in ("models", "flavors")}
    shipped_currency = str(shipped.get("currency") or "EUR")
    override_currency = str(override.get("currency") or shipped_currency)
    keep_shipped = override_currency == shipped_currency
    for section in ("models", "flavors"):
        base = {k: dict(v) for k, v in (shipped.get(section) or {}).items()} if keep_shipped else {}
        for key, entry in (override.get(section) or {}).items():
            base[key] = {**base.get(key, {}), **dict(entry or {})}
        merged[section] = base
    for key, value in override.items():
        if key not in ("models", "flavors"):
            merged[key] = value
    merged["currency"] = override_currency
    return merged


_catalog: PriceCatalog | None = None
_lock = threading.Lock()


def catalog() -> PriceCatalog:
    """The merged catalog (shipped + override), loaded once per process."""
    global _catalog
    if _catalog is not None:
        return _catalog
    with _lock:
        if _catalog is None:
            data: dict[str, Any] = {}
            try:
                data = _read_file(SHIPPED_CATALOG)
            except Exception as exc:
                warn_once("pricing.shipped", exc)
            override_path = config.get_option("price_catalog")
            if override_path:
                try:
                    data = merge_catalogs(data, _read_file(Path(override_path).expanduser()))
                except Exception as exc:
                    warn_once("pricing.override", exc, price_catalog=override_path)
            _catalog = PriceCatalog(data)
    return _catalog


def reload() -> None:
    """Drop the cached catalog (tests; after changing ``price_catalog``)."""
    global _catalog
    with _lock:
        _catalog = None


def currency() -> str:
    """Currency of every cost this process reports (label ``currency``)."""
    return catalog().currency


def _price(entry: Mapping[str, Any], key: str) -> float | None:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def estimate_llm_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated cost of one call in :func:`currency`; ``None`` when the model has no price."""
    entry = catalog().model_entry(str(model))
    if entry is None:
        return None
    price_in, price_out = _price(entry, "input_per_million"), _price(entry, "output_per_million")
    if price_in is None and price_out is None:
        return None
    return (max(int(input_tokens), 0) * (price_in or 0.0) + max(int(output_tokens), 0) * (price_out or 0.0)) / 1e6


def billed_seconds(run_seconds: float) -> float:
    """Run time rounded up to the billing granularity (OVH bills AI Training per started minute)."""
    granularity = catalog().granularity_s
    if run_seconds <= 0:
        return 0.0
    if granularity <= 0:
        return run_seconds
    return math.ceil(run_seconds / granularity - 1e-9) * granularity


def estimate_training_cost(job: Mapping[str, Any]) -> float | None:
    """Estimated cost of a finished job: billed RUNNING time x units x hourly flavor price.

    GPU flavors are priced per GPU-hour (x ``resources.gpu``), CPU flavors per vCPU-hour (x
    ``resources.cpu``). ``None`` when the flavor has no price.
    """
    cat = catalog()
    entry = cat.flavor_entry(job)
    if entry is None:
        return None
    price = _price(entry, "price")
    if price is None:
        return None
    if entry.get("unit", "gpu_hour") == "gpu_hour":
        units = jobfacts.gpu_count(job)
    else:  # a CPU flavor without an explicit count runs on one vCPU
        units = jobfacts.cpu_count(job) or 1
    hours = billed_seconds(jobfacts.run_duration_seconds(job)) / 3600.0
    return price * max(units, 0) * hours


__all__ = [
    "PriceCatalog",
    "billed_seconds",
    "catalog",
    "currency",
    "estimate_llm_cost",
    "estimate_training_cost",
    "merge_catalogs",
    "reload",
]
