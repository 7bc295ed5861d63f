"""Server lifecycle, the CLI, the light package import and the pytest plugin fixtures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from ovhcloud_ai_provider.testing import OVHEmulator as LazyOVHEmulator
from ovhcloud_ai_provider.testing.emulator import EmulatorConfig, OVHEmulator


def test_lazy_export_is_the_same_class() -> None:
    assert LazyOVHEmulator is OVHEmulator


def test_importing_testing_package_is_light() -> None:
    code = (
        "import sys, ovhcloud_ai_provider.testing as t; "
        "assert 'fastapi' not in sys.modules and 'uvicorn' not in sys.modules, 'heavy import'; "
        "import ovhcloud_ai_provider.testing.pytest_plugin; "
        "assert 'fastapi' not in sys.modules, 'plugin is heavy'; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_start_stop_context_manager_and_port_zero() -> None:
    emu = OVHEmulator(port=0)
    with pytest.raises(RuntimeError):
        _ = emu.url
    with emu as started:
        assert started is emu and emu.running
        assert emu.url == f"http://127.0.0.1:{emu.port}" and emu.port > 0
        assert requests.get(emu.url + "/_emulator/health", timeout=5).json() == {"status": "ok"}
        port = emu.port
    assert not emu.running
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=2)
    emu.stop()  # idempotent


def test_explicit_port_and_busy_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with OVHEmulator(port=port) as emu:
        assert emu.port == port
        with pytest.raises(OSError):
            OVHEmulator(port=port).start()


def test_custom_tokens_and_config_validation() -> None:
    with OVHEmulator(port=0, training_tokens=("t1", "t2"), endpoints_tokens=("e1",)) as emu:
        assert (
            requests.get(emu.url + "/v1/job", headers={"Authorization": "Bearer t2"}, timeout=5).status_code
            == 200
        )
        assert (
            requests.get(
                emu.url + "/v1/models", headers={"Authorization": "Bearer e1"}, timeout=5
            ).status_code
            == 200
        )
        assert (
            requests.get(
                emu.url + "/v1/models", headers={"Authorization": "Bearer t1"}, timeout=5
            ).status_code
            == 401
        )
    for bad in ({"time_scale": 0}, {"rate_limit_per_minute": 0}, {"training_tokens": ()}, {"region": "g ra"}):
        with pytest.raises(ValueError):
            EmulatorConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        EmulatorConfig().replace(colour="red")


def test_two_emulators_are_independent() -> None:
    with OVHEmulator(port=0) as a, OVHEmulator(port=0) as b:
        requests.get(a.url + "/v1/models", headers={"Authorization": "Bearer endpoints-token"}, timeout=5)
        assert a.accounting()["requests"]["total"] == 1 and b.accounting()["requests"]["total"] == 0


def test_cli_prints_url_serves_and_stops_on_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ovhcloud_ai_provider.testing.emulator",
            "--port",
            str(port),
            "--training-token",
            "cli-token",
            "--time-scale",
            "0.01",
            "--run-seconds",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == f"OVH emulator listening on http://127.0.0.1:{port}\n"
        url = line.split()[-1]
        auth = {"Authorization": "Bearer cli-token"}
        job = requests.post(url + "/v1/job", json={"image": "ubuntu"}, headers=auth, timeout=5).json()
        assert job["status"]["state"] == "QUEUED"
        assert requests.get(url + "/_emulator/accounting", timeout=5).json()["jobs"]["created"] == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_main_help() -> None:
    from ovhcloud_ai_provider.testing.emulator.__main__ import build_parser

    args = build_parser().parse_args(["--port", "0", "--endpoints-token", "a", "--endpoints-token", "b"])
    assert args.port == 0 and args.endpoints_tokens == ["a", "b"] and args.time_scale == 1.0


# -- pytest plugin -------------------------------------------------------------------------------------------------
def test_ovh_connections_sets_airflow_connection_env(ovh_connections: OVHEmulator) -> None:
    endpoints = json.loads(os.environ["AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"])
    training = json.loads(os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"])
    assert endpoints == {
        "conn_type": "ovhcloud_ai_endpoints",
        "host": ovh_connections.url + "/v1",
        "password": "endpoints-token",
    }
    assert training == {
        "conn_type": "ovhcloud_ai_training",
        "host": ovh_connections.url,
        "login": "gra",
        "password": "training-token",
    }


@pytest.mark.ovh_emulator(time_scale=0.5, rate_limit_per_minute=9)
def test_marker_configures_the_fixture(ovh_emulator: OVHEmulator) -> None:
    assert ovh_emulator.config.time_scale == 0.5 and ovh_emulator.config.rate_limit_per_minute == 9


def test_fixture_is_session_scoped_and_reset(
    ovh_emulator: OVHEmulator, ovh_emulator_session: OVHEmulator
) -> None:
    assert ovh_emulator is ovh_emulator_session
    assert ovh_emulator.accounting()["requests"]["total"] == 0 and ovh_emulator.config.time_scale == 1.0


def test_plugin_in_a_fresh_pytest_session(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import json, os, requests

            def test_one(ovh_connections):
                conn = json.loads(os.environ["AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"])
                r = requests.post(conn["host"] + "/v1/job", json={"image": "x"},
                                  headers={"Authorization": "Bearer " + conn["password"]}, timeout=5)
                assert r.status_code == 200
                assert ovh_connections.accounting()["jobs"]["created"] == 1

            def test_two_starts_clean(ovh_emulator):
                assert ovh_emulator.accounting()["jobs"]["created"] == 0
                assert ovh_emulator.jobs() == []
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_inner.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
