"""Hook-level lineage: assets in Airflow's collector, their conversion to OpenLineage datasets, no-op paths.

The same flow inside a real Airflow task (``@task`` calling the hooks) is covered by ``test_dag_lineage.py``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from airflow.sdk.lineage import HookLineageCollector
from openlineage.client.serde import Serde

from ovhcloud_ai_provider.lineage import hook_lineage
from ovhcloud_ai_provider.lineage.assets import (
    asset_uri,
    convert_asset_to_openlineage,
    create_asset,
    ensure_registered,
    parse_asset_uri,
    sanitize_uri,
)
from ovhcloud_ai_provider.lineage.operator_lineage import inference_lineage, training_lineage

SPEC = {
    "image": "img",
    "envVars": [{"name": "HF_TOKEN", "value": "s3cr3t-VALUE-never-in-lineage"}],
    "volumes": [
        {"volumeSource": {"dataStore": {"alias": "S3GRA", "container": "raw", "prefix": "images/"}},
         "mountPath": "/in", "permission": "RO", "cache": True},
        {"volumeSource": {"dataStore": {"alias": "GRA", "container": "models"}}, "mountPath": "/out",
         "permission": "RWD"},
        {"volumeSource": {"publicGit": {"url": "https://github.com/ovh/ai-training-examples.git"}},
         "mountPath": "/code", "permission": "RO"},
        {"volumeSource": {"standalone": {}}, "mountPath": "/tmp", "permission": "RW"},
    ],
}  # fmt: skip


class FakeHook:
    """Stands for an OVHCloudAI*Hook: the collector only uses it as the lineage context."""


@pytest.fixture
def collector(monkeypatch):
    fresh = HookLineageCollector()
    monkeypatch.setattr(hook_lineage, "_collector", lambda: fresh)
    return fresh


def _translate(info):
    from airflow.providers.openlineage.utils.utils import translate_airflow_asset

    return translate_airflow_asset(info.asset, info.context)


@pytest.mark.parametrize(
    ("namespace", "name"),
    [
        ("s3://bucket", "a/b/c.csv"),
        ("s3://bucket", "/"),
        ("swift://gra", "my container/x y"),
        ("https://oai.endpoints.kepler.ai.cloud.ovh.net", "Meta-Llama-3_3-70B-Instruct"),
        ("http://127.0.0.1:8765", "BGE-M3"),
        ("ssh://github.com", "org/repo"),
        ("https://storage.gra.cloud.ovh.net", "v1/AUTH_x/c?d#e"),
    ],
)
def test_asset_uri_round_trip_through_airflow(namespace, name):
    ensure_registered()
    asset = create_asset(namespace=namespace, name=name)
    assert asset.uri.isascii() and asset.uri.startswith("ovhai://")
    assert parse_asset_uri(asset.uri) == (namespace, name)
    assert parse_asset_uri(asset.normalized_uri) == (namespace, name)
    dataset = convert_asset_to_openlineage(asset, None)
    assert (dataset.namespace, dataset.name) == (namespace, name)


def test_uri_handler_rejects_incomplete_uris():
    from urllib.parse import urlsplit

    with pytest.raises(ValueError):
        sanitize_uri(urlsplit("ovhai:///x"))
    with pytest.raises(ValueError):
        sanitize_uri(urlsplit("ovhai://s3"))
    with pytest.raises(ValueError):
        parse_asset_uri("s3://bucket/key")
    assert asset_uri("s3://b", "/") == "ovhai://s3/b"


def test_report_inference_call(collector):
    hook = FakeHook()
    base = "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1"
    for _ in range(3):  # repeated calls are counted, not duplicated
        hook_lineage.report_inference_call(hook, endpoint_base_url=base, model="Qwen3-32B", operation="chat")
    collected = collector.collected_assets
    [info] = collected.inputs
    assert collected.outputs == [] and info.count == 3 and info.context is hook
    dataset = Serde.to_dict(_translate(info))
    [expected] = inference_lineage(endpoint_base_url=base, model="Qwen3-32B", operation="chat").inputs
    expected_dict = Serde.to_dict(expected)
    assert (dataset["namespace"], dataset["name"]) == (expected_dict["namespace"], expected_dict["name"])
    assert dataset["facets"] == expected_dict["facets"]  # same facets whichever path reported the model


def test_report_training_job(collector):
    hook_lineage.report_training_job(FakeHook(), spec=SPEC)
    collected = collector.collected_assets
    inputs = {(d.namespace, d.name): Serde.to_dict(d) for d in map(_translate, collected.inputs)}
    outputs = {(d.namespace, d.name): Serde.to_dict(d) for d in map(_translate, collected.outputs)}
    assert set(inputs) == {("s3://raw", "images"), ("https://github.com", "ovh/ai-training-examples")}
    assert set(outputs) == {("swift://gra", "models")}
    # identical to what the operator reports for the same spec
    operator = training_lineage(spec=SPEC)
    assert {(d.namespace, d.name): Serde.to_dict(d)["facets"] for d in operator.inputs} == {
        k: v["facets"] for k, v in inputs.items()
    }
    assert {(d.namespace, d.name): Serde.to_dict(d)["facets"] for d in operator.outputs} == {
        k: v["facets"] for k, v in outputs.items()
    }
    assert "s3cr3t" not in repr(collected)


def test_reports_never_raise(monkeypatch):
    class Exploding:
        def add_input_asset(self, *a, **k):
            raise RuntimeError("boom")

        add_output_asset = add_input_asset

    monkeypatch.setattr(hook_lineage, "_collector", lambda: Exploding())
    hook_lineage.report_inference_call(FakeHook(), endpoint_base_url="x", model="m", operation="chat")
    hook_lineage.report_training_job(FakeHook(), spec=SPEC)
    monkeypatch.setattr(hook_lineage, "_collector", lambda: 1 / 0)
    hook_lineage.report_training_job(FakeHook(), spec={"volumes": "garbage"})


def test_outside_airflow_tasks_the_collector_is_not_even_created():
    """Hooks used in scripts or unit tests (no OpenLineage listener) must not pay the collector's start-up."""
    code = textwrap.dedent(
        """
        import time
        from airflow.sdk import lineage, plugins_manager
        from ovhcloud_ai_provider.lineage.hook_lineage import report_inference_call, report_training_job
        t = time.perf_counter()
        report_inference_call(object(), endpoint_base_url="https://h/v1", model="m", operation="chat")
        report_training_job(object(), spec={"volumes": []})
        elapsed = time.perf_counter() - t
        print(lineage.get_hook_lineage_collector.cache_info().currsize,
              plugins_manager._get_plugins.cache_info().currsize, elapsed < 0.5)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "0", "True"]


def test_noop_collector_is_ignored(monkeypatch):
    from airflow.sdk.lineage import NoOpCollector

    monkeypatch.setattr(hook_lineage, "_readers_registered", lambda: True)
    monkeypatch.setattr(
        "airflow.providers.common.compat.lineage.hook.get_hook_lineage_collector", lambda: NoOpCollector()
    )
    assert hook_lineage._collector() is None
