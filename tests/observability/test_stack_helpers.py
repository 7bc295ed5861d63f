"""The reusable stack helpers themselves: loud skips, CI failures, Prometheus config."""

from __future__ import annotations

import pytest
import yaml

from .stack import REQUIRE_ENV, prometheus_config, require_binary


def test_missing_binary_skips_loudly_or_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found: apt-get install"):
        require_binary("definitely-not-prometheus")
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="definitely-not-prometheus"):
        require_binary("definitely-not-prometheus")


def test_prometheus_config_scrapes_every_second_with_honor_labels() -> None:
    config = yaml.safe_load(prometheus_config({"a": ["127.0.0.1:1"], "b": ["127.0.0.1:2"]}, ["/x/rules.yaml"]))
    assert config["global"]["scrape_interval"] == "1s"
    assert config["rule_files"] == ["/x/rules.yaml"]
    assert [(j["job_name"], j["honor_labels"], j["static_configs"][0]["targets"]) for j in config["scrape_configs"]] == [
        ("a", True, ["127.0.0.1:1"]),
        ("b", True, ["127.0.0.1:2"]),
    ]
