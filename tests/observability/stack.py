"""Start and stop real Prometheus, Pushgateway and exporter processes for tests (reusable end to end).

Everything listens on 127.0.0.1 on a free port, keeps its data in a caller-given temporary directory,
and is stopped by PID (never by name). When a binary is missing the test is skipped with an install hint,
unless ``OVHAI_REQUIRE_STACK=1`` (CI), where it fails instead.

Usage::

    from tests.observability.stack import start_pushgateway, start_prometheus, start_exporter
    with start_pushgateway(tmp_path) as pgw, start_exporter(mp_dir) as exp:
        with start_prometheus(tmp_path, targets={"exporter": [exp.address], "pushgateway": [pgw.address]}) as prom:
            prom.wait_for("ovhcloud_ai_requests_total")
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

APT_HINT = "apt-get install -y --no-install-recommends prometheus prometheus-pushgateway"
REQUIRE_ENV = "OVHAI_REQUIRE_STACK"


def stack_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip() in ("1", "true", "yes")


def require_binary(name: str) -> str:
    """Path of a Debian Prometheus binary; skip loudly (or fail under ``OVHAI_REQUIRE_STACK=1``) if absent."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path:
        return path
    message = f"{name} binary not found: {APT_HINT} (set {REQUIRE_ENV}=1 to make this a failure)"
    if stack_required():
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


@dataclass
class Server:
    """A started server process."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL after 10 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    # --- Prometheus helpers -------------------------------------------------------------------------------
    def query(self, expr: str) -> list[dict[str, Any]]:
        """``/api/v1/query`` result list (raises on an API error, e.g. a PromQL parse error)."""
        status, body = http_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        payload = json.loads(body)
        if status != 200 or payload.get("status") != "success":
            raise AssertionError(f"query failed ({status}): {expr}\n{payload}")
        data = payload["data"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def label_values(self, label: str, match: str) -> list[str]:
        query = urllib.parse.urlencode({"match[]": match})
        status, body = http_get(f"{self.url}/api/v1/label/{label}/values?{query}")
        payload = json.loads(body)
        assert status == 200, payload
        return list(payload["data"])

    def wait_for(self, expr: str, *, deadline_s: float = 60.0, finite: bool = True) -> list[dict[str, Any]]:
        """Poll until ``expr`` returns a non-empty (finite) result; fail with the server log at the deadline."""
        end = time.monotonic() + deadline_s
        last: list[dict[str, Any]] = []
        while time.monotonic() < end:
            last = self.query(expr)
            if last and (not finite or all(is_finite(r) for r in last)):
                return last
            time.sleep(0.25)
        raise AssertionError(f"no {'finite ' if finite else ''}result for {expr!r} (last: {last})\n{self.log()}")


def is_finite(result: Mapping[str, Any]) -> bool:
    value = result.get("value")
    return value is not None and len(value) == 2 and math.isfinite(float(value[1]))


def _wait_ready(server: Server, path: str, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log()}")
        try:
            status, _ = http_get(server.url + path, timeout=1.0)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{server.name} not ready after {deadline_s}s:\n{server.log()}")


def _spawn(name: str, argv: Sequence[str], workdir: Path, port: int, env: Mapping[str, str] | None = None) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - the child owns it for its lifetime
    try:
        process = subprocess.Popen(
            list(argv), stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir, env=dict(env) if env else None
        )
    finally:
        log_file.close()
    return Server(name=name, process=process, port=port, workdir=workdir, log_path=log_path)


@contextmanager
def _serve(name: str, launch: Callable[[int], Server]) -> Iterator[Server]:
    """Start ``launch(port)`` on a free port until ``/-/ready`` answers (3 tries: a port may be taken
    between picking and binding), yield it, stop it by PID."""
    for _attempt in range(3):
        server = launch(free_port())
        try:
            _wait_ready(server, "/-/ready")
        except RuntimeError:
            server.stop()
            continue
        try:
            yield server
        finally:
            server.stop()
        return
    raise RuntimeError(f"could not start {name}")


@contextmanager
def start_pushgateway(workdir: Path, *, admin_api: bool = True) -> Iterator[Server]:
    """A real ``prometheus-pushgateway`` on a free loopback port, in memory (no persistence file)."""
    binary = require_binary("prometheus-pushgateway")

    def launch(port: int) -> Server:
        # Debian's build defaults --persistence.file to /var/lib/prometheus/pushgateway.data: shared
        # between runs. An empty value keeps each test's gateway in memory only.
        argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
        if admin_api:
            argv.append("--web.enable-admin-api")
        return _spawn("pushgateway", argv, workdir / f"pushgateway-{port}", port)

    with _serve("prometheus-pushgateway", launch) as server:
        yield server


def prometheus_config(targets: Mapping[str, Sequence[str]], rule_files: Sequence[str | Path] = ()) -> str:
    """A Prometheus config with a 1 s scrape/evaluation interval; every job uses ``honor_labels``."""
    lines = ["global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 1s}"]
    if rule_files:
        lines.append("rule_files:")
        lines.extend(f"  - {json.dumps(str(path))}" for path in rule_files)
    lines.append("scrape_configs:")
    for job, addresses in targets.items():
        lines.append(
            f"  - {{job_name: {json.dumps(job)}, honor_labels: true, "
            f"static_configs: [{{targets: {json.dumps(list(addresses))}}}]}}"
        )
    return "\n".join(lines) + "\n"


@contextmanager
def start_prometheus(
    workdir: Path, *, targets: Mapping[str, Sequence[str]], rule_files: Sequence[str | Path] = ()
) -> Iterator[Server]:
    """A real ``prometheus`` scraping ``targets`` every second, TSDB in ``workdir``; waits for ``/-/ready``."""
    binary = require_binary("prometheus")

    def launch(port: int) -> Server:
        home = workdir / f"prometheus-{port}"
        home.mkdir(parents=True, exist_ok=True)
        config_path = home / "prometheus.yml"
        config_path.write_text(prometheus_config(targets, rule_files))
        argv = [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]
        return _spawn("prometheus", argv, home, port)

    with _serve("prometheus", launch) as server:
        yield server


@contextmanager
def start_exporter(directory: str | Path, *, fold: bool = True, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """``ovhcloud-ai-metrics-exporter --port 0`` over ``directory``; the port comes from its first stdout line."""
    directory = Path(directory)
    workdir = directory.parent / f"exporter-{directory.name}"
    workdir.mkdir(parents=True, exist_ok=True)
    script = Path(sys.executable).with_name("ovhcloud-ai-metrics-exporter")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "ovhcloud_ai_provider.observability.exporter"]
    argv += ["--dir", str(directory), "--host", "127.0.0.1", "--port", "0"]
    if not fold:
        argv.append("--no-fold")
    log_path = workdir / "exporter.log"
    child_env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    child_env.update(env or {})
    with open(log_path, "wb") as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=child_env)
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    if "listening on http://" not in line:
        process.kill()
        process.wait()
        raise RuntimeError(f"exporter did not start: {line!r}\n{log_path.read_text(errors='replace')}")
    port = int(line.split("listening on http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
    server = Server(name="exporter", process=process, port=port, workdir=workdir, log_path=log_path)
    try:
        yield server
    finally:
        server.stop()
        process.stdout.close()


__all__ = [
    "APT_HINT",
    "REQUIRE_ENV",
    "Server",
    "free_port",
    "http_get",
    "is_finite",
    "prometheus_config",
    "require_binary",
    "stack_required",
    "start_exporter",
    "start_prometheus",
    "start_pushgateway",
]
