"""Test-session setup shared by every test.

Airflow reads its configuration when first imported, and the OpenLineage provider decides at plugin load
whether to listen; so the environment is set here, at import time, before any test imports Airflow.
The metadata DB (SQLite in a throw-away AIRFLOW_HOME) is migrated once per session, lazily, only by tests
that run DAGs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="ovhai-airflow-"))
#: Airflow parses the whole DAGs folder on dag.test(): give it only DAG files, through symlinks.
DAGS_DIR = _HOME / "dags"
DAGS_DIR.mkdir()
for _name, _target in (("examples", REPO / "examples"), ("test_dags", REPO / "tests" / "dags")):
    (DAGS_DIR / _name).symlink_to(_target, target_is_directory=True)

os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        "AIRFLOW__OPENLINEAGE__DISABLED": "true",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
)
for _var in ("PROMETHEUS_MULTIPROC_DIR", "OVHCLOUD_AI_METRICS_MODE", "AIRFLOW__OVHCLOUD_AI__METRICS_MODE"):
    os.environ.pop(_var, None)


def stack_required() -> bool:
    return os.environ.get("OVHAI_REQUIRE_STACK") == "1"


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the session's SQLite metadata DB once (about 3 s)."""
    marker = _HOME / ".migrated"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            capture_output=True,
            env=os.environ.copy(),
        )
        marker.touch()
    return _HOME


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)
