"""Read the shipped dashboards and alert rules: every PromQL expression, normalised for offline use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .helpers import REPO_ROOT

GRAFANA = REPO_ROOT / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
ALERT_FILE = GRAFANA / "alerts" / "ovhcloud-ai-alerts.yaml"
ALERT_TESTS = sorted((GRAFANA / "alerts" / "tests").glob("*.yaml"))

#: Grafana's built-in variables, replaced the way a short dashboard range would resolve them.
SUBSTITUTIONS = (("$__rate_interval", "1m"), ("$__range", "5m"), ("$__interval", "15s"))
_VAR_MATCH = re.compile(r'=~"\$\{?[A-Za-z_]+\}?"')
_LABEL_VALUES = re.compile(r"^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$")


@dataclass(frozen=True)
class Expr:
    where: str
    raw: str

    @property
    def promql(self) -> str:
        """The expression with Grafana variables replaced (``=~"$var"`` -> ``=~".*"``)."""
        text = _VAR_MATCH.sub('=~".*"', self.raw)
        for variable, value in SUBSTITUTIONS:
            text = text.replace(variable, value)
        assert "$" not in text, f"unresolved variable in {self.where}: {text}"
        return text


def load_dashboard(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Panels, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", []) or []


def dashboard_exprs(path: Path) -> list[Expr]:
    dashboard = load_dashboard(path)
    out = []
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []) or []:
            if target.get("expr"):
                out.append(Expr(f"{path.name} #{panel['id']} {panel['title']!r} {target['refId']}", target["expr"]))
    return out


def variable_queries(path: Path) -> list[tuple[str, str, str]]:
    """``(variable, metric, label)`` of every ``label_values(metric, label)`` template variable."""
    out = []
    for variable in load_dashboard(path)["templating"]["list"]:
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = _LABEL_VALUES.match(query.strip())
        assert match, f"{path.name}: unsupported variable query {query!r}"
        out.append((variable["name"], match.group(1), match.group(2)))
    return out


def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERT_FILE.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def alert_exprs() -> list[Expr]:
    return [Expr(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()]


def every_expr() -> list[Expr]:
    return [e for path in DASHBOARD_FILES for e in dashboard_exprs(path)] + alert_exprs()
