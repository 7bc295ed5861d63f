#!/usr/bin/env python3
"""Generate the classic Grafana dashboards in ``grafana/dashboards/`` (run: ``python grafana/build_dashboards.py``).

Plain Python + json, no SDK: the JSON is what ships, this script only keeps it regular (ids, grid, templated
datasource). ``tests/observability/test_dashboards.py`` checks that the committed files equal its output,
that every expression parses and names only catalog metrics, and that every catalog family is charted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 41
DS = {"type": "prometheus", "uid": "${datasource}"}
HERE = Path(__file__).resolve().parent
FAILED_STATES = "FAILED|ERROR|SYNC_FAILED"


class Board:
    """Lays panels out on Grafana's 24-column grid and numbers them."""

    def __init__(self, uid: str, title: str, description: str, tags: list[str]) -> None:
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.panels: list[dict[str, Any]] = []
        self.variables: list[dict[str, Any]] = [datasource_variable()]
        self._next_id = 1
        self._x = 0
        self._y = 0
        self._row_h = 0

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(
            {"type": "row", "id": self._id(), "title": title, "collapsed": False, "panels": [],
             "gridPos": {"h": 1, "w": 24, "x": 0, "y": self._y}}
        )  # fmt: skip
        self._y += 1

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_h
        self._x, self._row_h = 0, 0

    def panel(
        self,
        kind: str,
        title: str,
        description: str,
        targets: list[tuple[str, str]],
        *,
        unit: str = "short",
        w: int = 12,
        h: int = 8,
        instant: bool = False,
        decimals: int | None = None,
        extra_options: dict[str, Any] | None = None,
    ) -> None:
        if self._x + w > 24:
            self._newline()
        defaults: dict[str, Any] = {"unit": unit}
        if decimals is not None:
            defaults["decimals"] = decimals
        if kind == "timeseries":
            defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "showPoints": "never"}
        options: dict[str, Any] = {}
        if kind == "stat":
            options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                       "colorMode": "value", "graphMode": "none", "textMode": "auto"}  # fmt: skip
        elif kind == "timeseries":
            options = {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                       "tooltip": {"mode": "multi", "sort": "desc"}}  # fmt: skip
        elif kind == "bargauge":
            options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                       "orientation": "horizontal", "displayMode": "gradient"}  # fmt: skip
        elif kind == "table":
            options = {"showHeader": True, "footer": {"show": False}}
        options.update(extra_options or {})
        panel: dict[str, Any] = {
            "id": self._id(),
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DS,
            "gridPos": {"h": h, "w": w, "x": self._x, "y": self._y},
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options,
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": DS,
                    "expr": expr,
                    "legendFormat": legend,
                    "range": not (instant or kind in ("table", "bargauge")),
                    "instant": instant or kind in ("table", "bargauge"),
                    **({"format": "table"} if kind == "table" else {}),
                }
                for i, (expr, legend) in enumerate(targets)
            ],
        }
        if kind == "table":
            panel["transformations"] = [{"id": "merge", "options": {}}]
        self.panels.append(panel)
        self._x += w
        self._row_h = max(self._row_h, h)

    def query_variable(self, name: str, label: str, metric: str, label_name: str) -> None:
        query = f"label_values({metric}, {label_name})"
        self.variables.append(
            {
                "name": name,
                "label": label,
                "type": "query",
                "datasource": DS,
                "definition": query,
                "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
                "refresh": 2,
                "includeAll": True,
                "multi": True,
                "allValue": ".*",
                "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                "options": [],
                "sort": 1,
                "regex": "",
                "hide": 0,
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "refresh": "1m",
            "time": {"from": "now-24h", "to": "now"},
            "timepicker": {},
            "timezone": "browser",
            "weekStart": "",
            "links": [],
            "annotations": {
                "list": [
                    {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                     "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
                     "type": "dashboard"}
                ]
            },
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


def datasource_variable() -> dict[str, Any]:
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
    }


def llm_dashboard() -> dict[str, Any]:
    b = Board(
        "ovhcloud-ai-llm",
        "OVHcloud AI - LLM usage and cost",
        "AI Endpoints traffic from Airflow: tokens, estimated spend, latency, errors and 429s per model, DAG "
        "and task. Costs are estimates from the provider's price catalog, not the invoice.",
        ["ovhcloud", "airflow", "llm", "genai"],
    )
    b.query_variable("model", "Model", "ovhcloud_ai_llm_tokens_total", "gen_ai_request_model")
    b.query_variable("dag_id", "DAG", "ovhcloud_ai_requests_total", "dag_id")
    m = 'gen_ai_request_model=~"$model"'
    md = f'{m}, dag_id=~"$dag_id"'
    ep = f'service="ai_endpoints", {md}'

    b.row("Overview (selected time range)")
    b.panel("stat", "Estimated LLM spend", "Tokens x catalog price, summed over the range.",
            [(f"sum(increase(ovhcloud_ai_llm_cost_total{{{md}}}[$__range]))", "spend")],
            unit="currencyEUR", w=4, h=4, decimals=2)  # fmt: skip
    b.panel("stat", "Tokens", "Input + output tokens reported by the API.",
            [(f"sum(increase(ovhcloud_ai_llm_tokens_total{{{md}}}[$__range]))", "tokens")], w=4, h=4)  # fmt: skip
    b.panel("stat", "LLM HTTP attempts", "Every attempt, retries included.",
            [(f"sum(increase(ovhcloud_ai_requests_total{{{ep}}}[$__range]))", "attempts")], w=4, h=4)  # fmt: skip
    b.panel("stat", "Error ratio", "Attempts that did not succeed (429s, 4xx, 5xx, network) / all attempts.",
            [(f'(sum(increase(ovhcloud_ai_requests_total{{outcome!="success", {ep}}}[$__range])) or vector(0))'
              f" / clamp_min(sum(increase(ovhcloud_ai_requests_total{{{ep}}}[$__range])), 1)", "error ratio")],
            unit="percentunit", w=4, h=4, decimals=1)  # fmt: skip
    b.panel("stat", "Rate limited (429)", "Attempts answered 429 Too Many Requests.",
            [(f'sum(increase(ovhcloud_ai_requests_total{{outcome="rate_limited", {ep}}}[$__range])) or vector(0)', "429s")],
            w=4, h=4)  # fmt: skip
    b.panel("stat", "p95 latency", "95th percentile of LLM attempt durations over the range.",
            [(f"histogram_quantile(0.95, sum by (le) (rate(gen_ai_client_operation_duration_seconds_bucket{{{m}}}[$__range])))", "p95")],
            unit="s", w=4, h=4, decimals=2)  # fmt: skip

    b.row("Tokens and spend")
    b.panel("timeseries", "Tokens per minute by model and type", "Rate of ovhcloud_ai_llm_tokens_total.",
            [(f"sum by (gen_ai_request_model, gen_ai_token_type) (rate(ovhcloud_ai_llm_tokens_total{{{md}}}[$__rate_interval])) * 60",
              "{{gen_ai_request_model}} {{gen_ai_token_type}}")])  # fmt: skip
    b.panel("timeseries", "Estimated spend per hour by model", "Rate of ovhcloud_ai_llm_cost_total, per hour.",
            [(f"sum by (gen_ai_request_model) (rate(ovhcloud_ai_llm_cost_total{{{md}}}[$__rate_interval])) * 3600",
              "{{gen_ai_request_model}}")], unit="currencyEUR")  # fmt: skip
    b.panel("bargauge", "Estimated spend by DAG and task", "Over the selected range.",
            [(f"sort_desc(sum by (dag_id, task_id) (increase(ovhcloud_ai_llm_cost_total{{{md}}}[$__range])))",
              "{{dag_id}} / {{task_id}}")], unit="currencyEUR", w=8)  # fmt: skip
    b.panel("bargauge", "Tokens by DAG and task", "Over the selected range.",
            [(f"sort_desc(sum by (dag_id, task_id) (increase(ovhcloud_ai_llm_tokens_total{{{md}}}[$__range])))",
              "{{dag_id}} / {{task_id}}")], w=8)  # fmt: skip
    b.panel("timeseries", "p95 tokens per call", "OTel gen_ai_client_token_usage distribution.",
            [(f"histogram_quantile(0.95, sum by (le, gen_ai_request_model, gen_ai_token_type) (rate(gen_ai_client_token_usage_bucket{{{m}}}[$__rate_interval])))",
              "{{gen_ai_request_model}} {{gen_ai_token_type}}")], w=8)  # fmt: skip

    b.row("Latency and errors")
    b.panel("timeseries", "p50 / p95 latency by model", "Successful LLM attempts (OTel gen_ai_client_operation_duration_seconds).",
            [(f'histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket{{error_type="", {m}}}[$__rate_interval])))',
              "p95 {{gen_ai_request_model}}"),
             (f'histogram_quantile(0.50, sum by (le, gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_bucket{{error_type="", {m}}}[$__rate_interval])))',
              "p50 {{gen_ai_request_model}}")], unit="s")  # fmt: skip
    b.panel("timeseries", "Mean latency by operation", "sum/count of the OTel duration histogram.",
            [(f"sum by (gen_ai_operation_name) (rate(gen_ai_client_operation_duration_seconds_sum{{{m}}}[$__rate_interval]))"
              f" / clamp_min(sum by (gen_ai_operation_name) (rate(gen_ai_client_operation_duration_seconds_count{{{m}}}[$__rate_interval])), 1e-9)",
              "{{gen_ai_operation_name}}")], unit="s")  # fmt: skip
    b.panel("timeseries", "Attempts per second by outcome", "success, rate_limited, client_error, server_error, network_error.",
            [(f"sum by (outcome) (rate(ovhcloud_ai_requests_total{{{ep}}}[$__rate_interval]))", "{{outcome}}")],
            unit="reqps", w=8)  # fmt: skip
    b.panel("timeseries", "429s per second by model", "Sustained 429s mean the per-model rate limit is too low for the load.",
            [(f'sum by (gen_ai_request_model) (rate(ovhcloud_ai_requests_total{{outcome="rate_limited", {ep}}}[$__rate_interval]))',
              "{{gen_ai_request_model}}")], unit="reqps", w=8)  # fmt: skip
    b.panel("timeseries", "Error ratio by model", "Failed attempts / attempts, per model (0 when none failed).",
            [(f'(sum by (gen_ai_request_model) (increase(ovhcloud_ai_requests_total{{outcome!="success", {ep}}}[$__rate_interval]))'
              f" or 0 * sum by (gen_ai_request_model) (increase(ovhcloud_ai_requests_total{{{ep}}}[$__rate_interval])))"
              f" / clamp_min(sum by (gen_ai_request_model) (increase(ovhcloud_ai_requests_total{{{ep}}}[$__rate_interval])), 1)",
              "{{gen_ai_request_model}}")], unit="percentunit", w=8)  # fmt: skip
    b.panel("timeseries", "Failed attempts by error type", "error_type of the OTel duration histogram (HTTP status or exception).",
            [(f'sum by (gen_ai_request_model, error_type) (rate(gen_ai_client_operation_duration_seconds_count{{error_type!="", {m}}}[$__rate_interval]))',
              "{{gen_ai_request_model}} {{error_type}}")], unit="reqps", w=24)  # fmt: skip

    b.row("Per task: last run")
    b.panel("table", "Last run tokens per task", "ovhcloud_ai_task_last_run_llm_tokens (Pushgateway or multiprocess gauges).",
            [('sum by (dag_id, task_id, gen_ai_token_type) (ovhcloud_ai_task_last_run_llm_tokens{dag_id=~"$dag_id"})', "")])  # fmt: skip
    b.panel("table", "Last run estimated LLM spend per task", "ovhcloud_ai_task_last_run_cost for AI Endpoints.",
            [('sum by (dag_id, task_id, currency) (ovhcloud_ai_task_last_run_cost{service="ai_endpoints", dag_id=~"$dag_id"})', "")],
            unit="currencyEUR")  # fmt: skip
    return b.to_json()


def training_dashboard() -> dict[str, Any]:
    b = Board(
        "ovhcloud-ai-training",
        "OVHcloud AI - Training jobs",
        "AI Training jobs run from Airflow: outcomes, failure ratio, durations, queue time, GPU-hours and "
        "estimated spend by GPU model and DAG. Costs are estimates, not the invoice.",
        ["ovhcloud", "airflow", "training", "gpu"],
    )
    b.query_variable("gpu_model", "GPU model", "ovhcloud_ai_training_jobs_finished_total", "gpu_model")
    b.query_variable("dag_id", "DAG", "ovhcloud_ai_training_jobs_finished_total", "dag_id")
    g = 'gpu_model=~"$gpu_model"'
    gd = f'{g}, dag_id=~"$dag_id"'
    d = 'dag_id=~"$dag_id"'

    b.row("Overview (selected time range)")
    b.panel("stat", "Jobs finished", "Jobs seen in a terminal state.",
            [(f"sum(increase(ovhcloud_ai_training_jobs_finished_total{{{gd}}}[$__range]))", "jobs")], w=4, h=4)  # fmt: skip
    b.panel("stat", "Failure ratio", f"Jobs ending {FAILED_STATES} / all finished jobs (INTERRUPTED is a cancellation).",
            [(f'(sum(increase(ovhcloud_ai_training_jobs_finished_total{{final_state=~"{FAILED_STATES}", {gd}}}[$__range])) or vector(0))'
              f" / clamp_min(sum(increase(ovhcloud_ai_training_jobs_finished_total{{{gd}}}[$__range])), 1)", "failure ratio")],
            unit="percentunit", w=4, h=4, decimals=1)  # fmt: skip
    b.panel("stat", "GPU-hours", "RUNNING time x GPU count of finished jobs.",
            [(f"sum(increase(ovhcloud_ai_training_gpu_seconds_total{{{gd}}}[$__range])) / 3600", "GPU-hours")],
            w=4, h=4, decimals=2)  # fmt: skip
    b.panel("stat", "Estimated training spend", "Billed minutes x flavor price.",
            [(f"sum(increase(ovhcloud_ai_training_cost_total{{{gd}}}[$__range]))", "spend")],
            unit="currencyEUR", w=4, h=4, decimals=2)  # fmt: skip
    b.panel("stat", "Jobs waited on now", "Unfinished jobs live task/trigger processes are polling.",
            [(f"sum(ovhcloud_ai_training_jobs_waiting{{{d}}}) or vector(0)", "jobs")], w=4, h=4)  # fmt: skip
    b.panel("stat", "Longest QUEUED wait now", "Oldest job currently stuck in QUEUED (0 when none).",
            [(f"max(ovhcloud_ai_training_job_queued_age_seconds{{{d}}}) or vector(0)", "age")], unit="s", w=4, h=4)  # fmt: skip

    b.row("Outcomes and waiting jobs")
    b.panel("timeseries", "Jobs finished by final state", "Per rate interval.",
            [(f"sum by (final_state) (increase(ovhcloud_ai_training_jobs_finished_total{{{gd}}}[$__rate_interval]))",
              "{{final_state}}")])  # fmt: skip
    b.panel("timeseries", "Failure ratio over time", "Never empty: 0 when nothing failed.",
            [(f'(sum(increase(ovhcloud_ai_training_jobs_finished_total{{final_state=~"{FAILED_STATES}", {gd}}}[$__rate_interval])) or vector(0))'
              f" / clamp_min(sum(increase(ovhcloud_ai_training_jobs_finished_total{{{gd}}}[$__rate_interval])), 1)",
              "failure ratio")], unit="percentunit")  # fmt: skip
    b.panel("timeseries", "Jobs waited on by state", "Live gauge: QUEUED, INITIALIZING, PENDING, RUNNING, ...",
            [(f"sum by (state) (ovhcloud_ai_training_jobs_waiting{{{d}}})", "{{state}}")])  # fmt: skip
    b.panel("timeseries", "Longest QUEUED wait by task", "Feeds the stuck-in-QUEUED alert.",
            [(f"max by (dag_id, task_id) (ovhcloud_ai_training_job_queued_age_seconds{{{d}}})", "{{dag_id}} / {{task_id}}")],
            unit="s")  # fmt: skip

    b.row("Durations")
    b.panel("timeseries", "Job duration p50 / p95 by GPU model", "Time in RUNNING (status.duration).",
            [(f"histogram_quantile(0.95, sum by (le, gpu_model) (rate(ovhcloud_ai_training_job_duration_seconds_bucket{{{g}}}[$__rate_interval])))",
              "p95 {{gpu_model}}"),
             (f"histogram_quantile(0.50, sum by (le, gpu_model) (rate(ovhcloud_ai_training_job_duration_seconds_bucket{{{g}}}[$__rate_interval])))",
              "p50 {{gpu_model}}")], unit="s", w=8)  # fmt: skip
    b.panel("timeseries", "Mean job duration by final state", "sum/count of the duration histogram.",
            [(f"sum by (final_state) (rate(ovhcloud_ai_training_job_duration_seconds_sum{{{g}}}[$__rate_interval]))"
              f" / clamp_min(sum by (final_state) (rate(ovhcloud_ai_training_job_duration_seconds_count{{{g}}}[$__rate_interval])), 1e-9)",
              "{{final_state}}")], unit="s", w=8)  # fmt: skip
    b.panel("timeseries", "Queue time p95 by GPU model", "QUEUED -> RUNNING (status.history).",
            [(f"histogram_quantile(0.95, sum by (le, gpu_model) (rate(ovhcloud_ai_training_job_queue_duration_seconds_bucket{{{g}}}[$__rate_interval])))",
              "p95 {{gpu_model}}"),
             (f"sum by (gpu_model) (rate(ovhcloud_ai_training_job_queue_duration_seconds_sum{{{g}}}[$__rate_interval]))"
              f" / clamp_min(sum by (gpu_model) (rate(ovhcloud_ai_training_job_queue_duration_seconds_count{{{g}}}[$__rate_interval])), 1e-9)",
              "mean {{gpu_model}}")], unit="s", w=8)  # fmt: skip

    b.row("GPU time and spend")
    b.panel("timeseries", "GPU-hours by GPU model", "Per rate interval.",
            [(f"sum by (gpu_model) (increase(ovhcloud_ai_training_gpu_seconds_total{{{gd}}}[$__rate_interval])) / 3600",
              "{{gpu_model}}")], w=8)  # fmt: skip
    b.panel("timeseries", "Estimated spend per hour by GPU model", "Rate of ovhcloud_ai_training_cost_total, per hour.",
            [(f"sum by (gpu_model) (rate(ovhcloud_ai_training_cost_total{{{gd}}}[$__rate_interval])) * 3600",
              "{{gpu_model}}")], unit="currencyEUR", w=8)  # fmt: skip
    b.panel("bargauge", "Estimated spend by DAG and task", "Over the selected range.",
            [(f"sort_desc(sum by (dag_id, task_id) (increase(ovhcloud_ai_training_cost_total{{{gd}}}[$__range])))",
              "{{dag_id}} / {{task_id}}")], unit="currencyEUR", w=8)  # fmt: skip
    b.panel("bargauge", "GPU-hours by DAG", "Over the selected range.",
            [(f"sort_desc(sum by (dag_id) (increase(ovhcloud_ai_training_gpu_seconds_total{{{gd}}}[$__range])) / 3600)",
              "{{dag_id}}")], w=12)  # fmt: skip
    b.panel("timeseries", "Training API attempts by outcome", "Every HTTP attempt to the AI Training API, retries included.",
            [(f'sum by (outcome) (rate(ovhcloud_ai_requests_total{{service="ai_training", {d}}}[$__rate_interval]))',
              "{{outcome}}")], unit="reqps", w=12)  # fmt: skip

    b.row("Per task: last run (batch outcome)")
    b.panel("table", "Time since last success", "Alert when a scheduled task stops succeeding.",
            [(f"time() - max by (dag_id, task_id) (ovhcloud_ai_task_last_success_timestamp_seconds{{{d}}})", "")],
            unit="s", w=8)  # fmt: skip
    b.panel("table", "Time since last completion", "Success, failure or skip.",
            [(f"time() - max by (dag_id, task_id) (ovhcloud_ai_task_last_completion_timestamp_seconds{{{d}}})", "")],
            unit="s", w=8)  # fmt: skip
    b.panel("table", "Last run duration", "Wall time of the last run.",
            [(f"max by (dag_id, task_id) (ovhcloud_ai_task_last_run_duration_seconds{{{d}}})", "")], unit="s", w=8)  # fmt: skip
    b.panel("table", "Last run estimated training spend", "ovhcloud_ai_task_last_run_cost for AI Training.",
            [(f'sum by (dag_id, task_id, currency) (ovhcloud_ai_task_last_run_cost{{service="ai_training", {d}}})', "")],
            unit="currencyEUR", w=24)  # fmt: skip
    return b.to_json()


DASHBOARDS = {
    "ovhcloud-ai-llm.json": llm_dashboard,
    "ovhcloud-ai-training.json": training_dashboard,
}


def render(name: str) -> str:
    return json.dumps(DASHBOARDS[name](), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    out = HERE / "dashboards"
    out.mkdir(exist_ok=True)
    for name in DASHBOARDS:
        (out / name).write_text(render(name))
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
