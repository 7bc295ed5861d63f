"""Provider registration as Airflow sees it: entry point, schema, CLI, connection forms and hooks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DIST = "airflow-provider-ovhcloud-ai"


def airflow_cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_provider_info_matches_airflows_runtime_schema():
    import airflow
    import jsonschema

    from ovhcloud_ai_provider.get_provider_info import get_provider_info

    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == DIST


def test_every_declared_module_and_class_imports():
    import importlib

    from ovhcloud_ai_provider.get_provider_info import get_provider_info

    info = get_provider_info()
    for key in ("hooks", "operators", "sensors", "triggers"):
        for item in info[key]:
            for module in item["python-modules"]:
                importlib.import_module(module)
    paths = [c["hook-class-name"] for c in info["connection-types"]] + list(info["extra-links"])
    for entry in info["asset-uris"]:
        paths += [entry["handler"], entry["factory"], entry["to_openlineage_converter"]]
    for path in paths:
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_airflow_cli_lists_and_gets_the_provider():
    listed = airflow_cli("providers", "list", "--output", "json")
    assert any(p["package_name"] == DIST for p in json.loads(listed))
    got = json.loads(airflow_cli("providers", "get", DIST, "--full", "--output", "json"))
    text = json.dumps(got)
    assert DIST in text and "ovhcloud_ai_training" in text and "0.1.0" in text


def test_providers_manager_builds_the_connection_forms_and_hooks():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    hooks = manager.hooks  # deprecated accessor, still what the Connection model uses in 3.3
    assert hooks["ovhcloud_ai_training"].hook_class_name.endswith("OVHCloudAITrainingHook")
    assert hooks["ovhcloud_ai_endpoints"].connection_id_attribute_name == "ovh_conn_id"
    widgets = manager.connection_form_widgets
    region = widgets["extra__ovhcloud_ai_training__region"].field
    assert region["schema"]["enum"][:2] == ["gra", "bhs"]
    behaviours = manager.field_behaviours
    assert behaviours["ovhcloud_ai_training"]["relabeling"]["password"] == "AI Training token"


@pytest.mark.parametrize(
    ("conn_type", "hook_path"),
    [
        ("ovhcloud_ai_endpoints", "ovhcloud_ai_provider.hooks.ai_endpoints.OVHCloudAIEndpointsHook"),
        ("ovhcloud_ai_training", "ovhcloud_ai_provider.hooks.ai_training.OVHCloudAITrainingHook"),
    ],
)
def test_connection_test_resolves_our_hook(ovh_connections, monkeypatch, conn_type, hook_path):
    """What the UI's "Test" button runs: the connection exported as a temporary ``AIRFLOW_CONN_*`` variable,
    then ``Connection.test_connection()`` through the conn_type's hook."""
    from airflow.models.connection import Connection

    emu = ovh_connections
    host = f"{emu.url}/v1" if conn_type.endswith("endpoints") else emu.url
    token = "endpoints-token" if conn_type.endswith("endpoints") else "training-token"
    conn = Connection(conn_id="ui_test", conn_type=conn_type, host=host, login="gra", password=token)
    monkeypatch.setenv("AIRFLOW_CONN_UI_TEST", conn.as_json())
    ok, message = conn.test_connection()
    assert ok, message
    assert type(conn.get_hook()).__module__ + "." + type(conn.get_hook()).__name__ == hook_path
    monkeypatch.setenv("AIRFLOW_CONN_UI_TEST", Connection(conn_id="ui_test", conn_type=conn_type, host=host, password="nope").as_json())
    ok, message = conn.test_connection()
    assert not ok and "401" in message
