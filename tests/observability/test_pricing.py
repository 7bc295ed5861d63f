"""Pricing: shipped catalog, override files, training-cost arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovhcloud_ai_provider.observability import pricing

from .helpers import make_job


def test_shipped_catalog_has_sources_dates_and_one_currency() -> None:
    data = json.loads(pricing.SHIPPED_CATALOG.read_text())
    assert data["currency"] == "EUR" and "estimate" in data["note"].lower()
    assert data["models"] and data["flavors"]
    for entry in [*data["models"].values(), *data["flavors"].values()]:
        assert entry["source"] and entry["date"]
    for entry in data["flavors"].values():
        assert entry["unit"] in ("gpu_hour", "vcpu_hour") and entry["price"] > 0
    assert data["flavors"]["ai1-1-gpu"]["price"] == 1.93  # OVH billing guide, 2026-01-27
    assert data["flavors"]["ai1-1-cpu"]["price"] == 0.03


def test_llm_cost_from_shipped_prices() -> None:
    assert pricing.currency() == "EUR"
    assert pricing.estimate_llm_cost("gpt-oss-120b", 1_000_000, 1_000_000) == pytest.approx(0.09 + 0.47)
    assert pricing.estimate_llm_cost("Mistral-7B-Instruct-v0.3", 2000, 1000) == pytest.approx(3000 * 0.11 / 1e6)
    assert pricing.estimate_llm_cost("ovhcloud/gpt-oss-20b", 1_000_000, 0) == pytest.approx(0.05)  # litellm prefix
    assert pricing.estimate_llm_cost("qwen3-32b", 0, 1_000_000) == pytest.approx(0.25)  # case-insensitive
    assert pricing.estimate_llm_cost("Qwen3Guard-Gen-0.6B", 10, 10) is None  # listed without a price
    assert pricing.estimate_llm_cost("not-a-model", 10, 10) is None


def test_training_cost_gpu_cpu_and_unknown() -> None:
    # 125 s -> 3 billed minutes; 2 x L40s at 1.8 EUR/GPU-hour
    assert pricing.estimate_training_cost(make_job()) == pytest.approx(3 / 60 * 2 * 1.8)
    v100 = make_job(resources={"gpu": 1, "flavor": "ai1-1-gpu", "gpuModel": "Tesla-V100S"}, status={"duration": 3600})
    assert pricing.estimate_training_cost(v100) == pytest.approx(1.93)
    cpu = make_job(resources={"cpu": 4, "flavor": "ai1-1-cpu"}, status={"duration": 1800})
    assert pricing.estimate_training_cost(cpu) == pytest.approx(4 * 0.5 * 0.03)
    default = make_job(resources={}, status={"duration": 60})  # no resources: 1 GPU of the default flavor
    assert pricing.estimate_training_cost(default) == pytest.approx(1.93 / 60)
    odd = make_job(resources={"gpu": 1, "flavor": "b300-1-gpu", "gpuModel": "B300"})
    assert pricing.estimate_training_cost(odd) is None
    by_model = make_job(resources={"gpu": 1, "flavor": "h100-2-gpu-new", "gpuModel": "H100"}, status={"duration": 3600})
    assert pricing.estimate_training_cost(by_model) == pytest.approx(3.0)  # falls back on the GPU model
    assert pricing.estimate_training_cost(make_job(status={"duration": 0})) == 0.0


def test_override_file_merges_field_by_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "my-prices.json"
    override.write_text(
        json.dumps(
            {
                "models": {"gpt-oss-120b": {"output_per_million": 1.0}, "my-finetune": {"input_per_million": 3.0}},
                "flavors": {"l40s-1-gpu": {"price": 2.5}},
                "training_billing_granularity_seconds": 1,
            }
        )
    )
    monkeypatch.setenv("AIRFLOW__OVHCLOUD_AI__PRICE_CATALOG", str(override))
    pricing.reload()
    from ovhcloud_ai_provider.observability import config

    config.clear_cache()
    assert pricing.estimate_llm_cost("gpt-oss-120b", 1_000_000, 1_000_000) == pytest.approx(0.09 + 1.0)
    assert pricing.estimate_llm_cost("my-finetune", 1_000_000, 5) == pytest.approx(3.0)
    assert pricing.estimate_llm_cost("gpt-oss-20b", 1_000_000, 0) == pytest.approx(0.05)  # shipped kept
    assert pricing.estimate_training_cost(make_job()) == pytest.approx(125 / 3600 * 2 * 2.5)  # per second now


def test_override_in_another_currency_drops_shipped_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "usd.yaml"
    override.write_text("currency: USD\nmodels:\n  gpt-oss-120b: {input_per_million: 0.1, output_per_million: 0.5}\n")
    monkeypatch.setenv("OVHCLOUD_AI_PRICE_CATALOG", str(override))
    pricing.reload()
    assert pricing.currency() == "USD"
    assert pricing.estimate_llm_cost("gpt-oss-120b", 1_000_000, 0) == pytest.approx(0.1)
    assert pricing.estimate_llm_cost("gpt-oss-20b", 1_000_000, 0) is None  # never an EUR price labelled USD
    assert pricing.estimate_training_cost(make_job()) is None


def test_broken_override_keeps_shipped_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "broken.json"
    override.write_text("{not json")
    monkeypatch.setenv("OVHCLOUD_AI_PRICE_CATALOG", str(override))
    pricing.reload()
    assert pricing.estimate_llm_cost("gpt-oss-20b", 1_000_000, 0) == pytest.approx(0.05)
    monkeypatch.setenv("OVHCLOUD_AI_PRICE_CATALOG", str(tmp_path / "missing.json"))
    from ovhcloud_ai_provider.observability import config

    config.clear_cache()
    pricing.reload()
    assert pricing.currency() == "EUR"
