"""Run DAG files through real Airflow (``airflow dags test``) in a subprocess, against an emulator.

A subprocess gives each run the environment Airflow reads at start-up: metrics delivery mode,
OpenLineage transport, connections. The demo and the end-to-end tests use it; so can users who want to
smoke-test their own DAG files offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ENDPOINTS_CONN_ENV = "AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT"
TRAINING_CONN_ENV = "AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT"
_FINISHED = re.compile(r"DagRun Finished: dag_id=(\S+?),.*?state=(\w+)")


def emulator_connections(
    url: str, *, training_token: str = "training-token", endpoints_token: str = "endpoints-token", region: str = "gra"
) -> dict[str, str]:
    """The two default connections, as ``AIRFLOW_CONN_*`` JSON values pointing at an emulator."""
    return {
        ENDPOINTS_CONN_ENV: json.dumps(
            {"conn_type": "ovhcloud_ai_endpoints", "host": f"{url}/v1", "password": endpoints_token}
        ),
        TRAINING_CONN_ENV: json.dumps(
            {"conn_type": "ovhcloud_ai_training", "host": url, "login": region, "password": training_token}
        ),
    }


@dataclass(frozen=True)
class DagRunResult:
    dag_id: str
    state: str
    seconds: float
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class AirflowSandbox:
    """A throw-away ``AIRFLOW_HOME`` with SQLite, a DAGs folder and extra environment."""

    def __init__(self, home: Path, dags_folder: Path, env: dict[str, str] | None = None) -> None:
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        base.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            }
        )
        base.update(env or {})
        self.env = base
        self._migrated = False

    def migrate(self) -> None:
        if not self._migrated:
            subprocess.run(
                [sys.executable, "-m", "airflow", "db", "migrate"], env=self.env, check=True, capture_output=True
            )
            self._migrated = True

    def _argv(self, dag_id: str, run_conf: dict[str, object] | None) -> list[str]:
        argv = [sys.executable, "-m", "airflow", "dags", "test", dag_id]
        if run_conf:
            argv += ["--conf", json.dumps(run_conf)]
        return argv

    def dags_test(
        self,
        dag_id: str,
        *,
        run_conf: dict[str, object] | None = None,
        env: dict[str, str] | None = None,
        log_name: str | None = None,
    ) -> DagRunResult:
        """``airflow dags test <dag_id>``; the run's final state is read from Airflow's own log line."""
        self.migrate()
        log_path = self.home / "logs" / f"{log_name or dag_id}.log"
        started = time.monotonic()
        with log_path.open("wb") as log:
            subprocess.run(
                self._argv(dag_id, run_conf),
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        states = [state for found, state in _FINISHED.findall(log_path.read_text(errors="replace")) if found == dag_id]
        return DagRunResult(dag_id, states[-1] if states else "unknown", time.monotonic() - started, log_path)

    def start_dags_test(
        self, dag_id: str, *, run_conf: dict[str, object] | None = None, log_name: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``airflow dags test`` without waiting (e.g. to observe a task while it waits on a job).
        Terminating it sends SIGTERM, which Airflow turns into the task's ``on_kill``."""
        self.migrate()
        log_path = self.home / "logs" / f"{log_name or dag_id}.log"
        with log_path.open("wb") as log:
            return subprocess.Popen(self._argv(dag_id, run_conf), env=self.env, stdout=log, stderr=subprocess.STDOUT)
