"""Catalog lint: names, units, ``_total``, label cardinality rules, OTel buckets."""

from __future__ import annotations

import re

import pytest

from ovhcloud_ai_provider.observability import catalog

NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
LABEL_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
#: Labels whose values come from closed sets or small catalogues. Adding one needs a cardinality argument.
ALLOWED_LABELS = {
    "service", "method", "route", "outcome", "error_type", "currency", "state", "final_state", "gpu_model",
    "gen_ai_request_model", "gen_ai_token_type", "gen_ai_operation_name", "gen_ai_provider_name",
    "dag_id", "task_id",
}  # fmt: skip
UNIT_SUFFIX = {"seconds": "_seconds", "tokens": "token"}

FAMILIES = catalog.families()


def ids(family: catalog.MetricFamily) -> str:
    return family.name


def test_catalog_is_introspectable_and_unique() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names)) >= 15
    series = [s for f in FAMILIES for s in f.series_names]
    assert len(series) == len(set(series))
    assert catalog.by_name("ovhcloud_ai_requests_total") is catalog.REQUESTS
    assert set(catalog.series_names()) == set(series)
    with pytest.raises(KeyError):
        catalog.by_name("nope")


@pytest.mark.parametrize("family", FAMILIES, ids=ids)
def test_name_prefix_and_type_suffix(family: catalog.MetricFamily) -> None:
    assert NAME_RE.match(family.name)
    assert family.name.startswith(("gen_ai_", "ovhcloud_ai_")), "one application prefix (or the OTel name)"
    assert "__" not in family.name and ":" not in family.name
    if family.type == "counter":
        assert family.name.endswith("_total")
        assert family.client_name + "_total" == family.name
    else:
        assert not family.name.endswith("_total"), "only counters end in _total"
    assert not family.name.endswith(("_created", "_bucket", "_count", "_sum", "_metric"))
    assert family.documentation.strip()


@pytest.mark.parametrize("family", FAMILIES, ids=ids)
def test_base_units_in_names(family: catalog.MetricFamily) -> None:
    assert family.unit in {"seconds", "tokens", "requests", "jobs", "currency"}
    assert not re.search(r"_(milliseconds|ms|minutes|hours|bytes_kb|percent)(_|$)", family.name)
    if family.unit == "seconds":
        assert family.name.removesuffix("_total").endswith("_seconds")
    if family.unit == "tokens":
        assert "token" in family.name
    if family.unit == "currency":
        assert "currency" in family.labels, "a cost must name its currency"
        assert "cost" in family.name
    if "timestamp" in family.name:
        assert family.name.endswith("_timestamp_seconds")


@pytest.mark.parametrize("family", FAMILIES, ids=ids)
def test_labels_are_low_cardinality(family: catalog.MetricFamily) -> None:
    assert len(family.labels) == len(set(family.labels)) <= 7
    for label in family.labels:
        assert LABEL_RE.match(label) and not label.startswith("__")
        assert label not in catalog.FORBIDDEN_LABELS
        assert label in ALLOWED_LABELS, f"{label} needs a cardinality review"
    assert "le" not in family.labels and "quantile" not in family.labels
    if family.type == "histogram":
        assert not {"dag_id", "task_id"} & set(family.labels), "histograms carry no per-task labels"


@pytest.mark.parametrize("family", FAMILIES, ids=ids)
def test_type_specific_rules(family: catalog.MetricFamily) -> None:
    if family.type == "histogram":
        assert list(family.buckets) == sorted(set(family.buckets)) and len(family.buckets) >= 5
        assert not family.multiprocess_mode
    else:
        assert not family.buckets
    if family.type == "gauge":
        assert family.multiprocess_mode in {"mostrecent", "max", "min", "livesum", "livemax", "livemostrecent"}
    else:
        assert not family.multiprocess_mode
    if "pushgateway" in family.delivery:
        assert family.type == "gauge", "never counters or histograms through a Pushgateway"
        assert family.labels[:2] == ("dag_id", "task_id"), "grouping key labels come first"


def test_otel_names_labels_and_buckets() -> None:
    token = catalog.GEN_AI_TOKEN_USAGE
    assert token.type == "histogram"
    assert token.buckets == tuple(float(4**i) for i in range(14))  # 1, 4, 16, ..., 67108864
    assert set(token.labels) == {"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"}
    duration = catalog.GEN_AI_OPERATION_DURATION
    assert duration.buckets == tuple(round(0.01 * 2**i, 2) for i in range(14))  # 0.01 .. 81.92
    assert "error_type" in duration.labels
    assert catalog.PROVIDER_NAME == "ovhcloud"


def test_job_duration_buckets_cover_emulator_seconds_and_48_hours() -> None:
    buckets = catalog.TRAINING_JOB_DURATION.buckets
    assert buckets[0] <= 1 and 60 in buckets and buckets[-1] == 48 * 3600


def test_outcomes_are_closed_and_show_429() -> None:
    assert catalog.OUTCOMES == ("success", "rate_limited", "client_error", "server_error", "network_error")


def test_docs_embed_the_catalog_table() -> None:
    from .helpers import REPO_ROOT

    docs = (REPO_ROOT / "docs" / "observability.md").read_text()
    assert catalog.markdown_table() in docs, "regenerate the table: python -c 'from ovhcloud_ai_provider.observability import catalog; print(catalog.markdown_table())'"
