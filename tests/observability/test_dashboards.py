"""Dashboards and alert rules, offline: JSON shape, PromQL parses, only catalog metrics, all charted."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import promql_parser
import pytest
import yaml

from ovhcloud_ai_provider.observability import catalog

from .dashboards import (
    ALERT_FILE,
    ALERT_TESTS,
    DASHBOARD_FILES,
    GRAFANA,
    Expr,
    alert_exprs,
    alert_rules,
    all_panels,
    dashboard_exprs,
    every_expr,
    load_dashboard,
    variable_queries,
)
from .stack import require_binary

OUR_PREFIXES = ("ovhcloud_ai_", "gen_ai_")
EXPECTED = {"ovhcloud-ai-llm.json", "ovhcloud-ai-training.json"}


def metric_names(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def test_expected_dashboards_exist() -> None:
    assert {p.name for p in DASHBOARD_FILES} == EXPECTED


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_json_shape(path: Path) -> None:
    dashboard = load_dashboard(path)
    assert dashboard["uid"] == path.stem and len(dashboard["uid"]) <= 40
    assert dashboard["title"].startswith("OVHcloud AI")
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] == 41
    panels = list(all_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)), "unique integer panel ids"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}"
    assert "${datasource}" in path.read_text()
    assert not [line for line in path.read_text().splitlines() if '"uid": "prometheus"' in line], "no hard-coded datasource"


def test_dashboards_are_generated_from_the_builder() -> None:
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in DASHBOARD_FILES:
        assert path.read_text() == module.render(path.name), f"run: python grafana/build_dashboards.py ({path.name})"


@pytest.mark.parametrize("expr", every_expr(), ids=lambda e: e.where)
def test_every_expression_parses_and_names_only_catalog_metrics(expr: Expr) -> None:
    names = metric_names(expr.promql)
    ours = {n for n in names if n.startswith(OUR_PREFIXES)}
    assert ours == names, f"foreign metrics in {expr.where}: {names - ours}"
    unknown = ours - set(catalog.series_names())
    assert not unknown, f"{expr.where} uses metrics the catalog does not define: {unknown}"


def test_ratios_never_divide_by_an_empty_or_zero_sum() -> None:
    for expr in every_expr():
        text = " ".join(expr.raw.split())
        if " / " in text and "histogram_quantile" not in text and "/ 3600" not in text:
            assert "clamp_min(" in text, f"{expr.where}: divide by clamp_min(..., n)"


def test_every_catalog_family_is_charted_and_every_chart_is_in_the_catalog() -> None:
    """LiteLLM-style consistency, both directions."""
    series_to_family = catalog.series_names()
    charted: set[str] = set()
    for path in DASHBOARD_FILES:
        for expr in dashboard_exprs(path):
            charted |= {series_to_family[n].name for n in metric_names(expr.promql)}
        for _name, metric, _label in variable_queries(path):
            assert metric in series_to_family
    missing = {f.name for f in catalog.FAMILIES} - charted
    assert not missing, f"catalog families no dashboard charts: {sorted(missing)}"


def test_alert_rules_shape() -> None:
    rules = alert_rules()
    names = {r["alert"] for r in rules}
    assert {
        "OVHcloudAITrainingJobFailureRatioHigh",
        "OVHcloudAISpendRateHigh",
        "OVHcloudAIRateLimitedSustained",
        "OVHcloudAITrainingJobStuckQueued",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in ("info", "warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        assert rule.get("for")
    stuck = next(r for r in rules if r["alert"] == "OVHcloudAITrainingJobStuckQueued")
    assert catalog.TRAINING_QUEUED_AGE.name in stuck["expr"]
    assert {n for e in alert_exprs() for n in metric_names(e.promql)} <= set(catalog.series_names())


@pytest.mark.stack
def test_promtool_check_rules() -> None:
    promtool = require_binary("promtool")
    result = subprocess.run([promtool, "check", "rules", str(ALERT_FILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.stack
@pytest.mark.parametrize("fixture", ALERT_TESTS, ids=lambda p: p.name)
def test_promtool_test_rules(fixture: Path) -> None:
    promtool = require_binary("promtool")
    result = subprocess.run(
        [promtool, "test", "rules", fixture.name], capture_output=True, text=True, timeout=120, cwd=fixture.parent
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tested = {t["alertname"] for test in yaml.safe_load(fixture.read_text())["tests"] for t in test["alert_rule_test"]}
    assert tested == {r["alert"] for r in alert_rules()}, "every alert has a promtool test"


@pytest.mark.stack
def test_dashboard_expressions_pass_promtool_as_recording_rules(tmp_path: Path) -> None:
    """Step 6 of the dashboard test: Prometheus's own parser accepts every panel expression."""
    promtool = require_binary("promtool")
    exprs = [e for path in DASHBOARD_FILES for e in dashboard_exprs(path)]
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"ovhcloud_ai:dashboard_expr_{i}", "expr": e.promql} for i, e in enumerate(exprs)
    ]}]}  # fmt: skip
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_provisioning_files() -> None:
    dashboards = yaml.safe_load((GRAFANA / "provisioning" / "dashboards.yaml").read_text())
    assert dashboards["apiVersion"] == 1
    (provider,) = dashboards["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] and provider["orgId"] == 1
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources.yaml").read_text())
    assert datasources["apiVersion"] == 1
    assert [d["type"] for d in datasources["datasources"]] == ["prometheus"]
    scrape = yaml.safe_load((GRAFANA / "prometheus-scrape-example.yaml").read_text())
    pushgateway_job = next(j for j in scrape["scrape_configs"] if j["job_name"] == "pushgateway")
    assert pushgateway_job["honor_labels"] is True


def test_dashboards_are_valid_json_without_duplicated_titles() -> None:
    for path in DASHBOARD_FILES:
        dashboard = json.loads(path.read_text())
        titles = [p["title"] for p in all_panels(dashboard) if p["type"] != "row"]
        assert len(titles) == len(set(titles))
