"""Run a DAG file through real Airflow (``dag.test()``, in this process) and read what happened."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def load_dag(path: str | Path, dag_id: str) -> Any:
    """Import a DAG file the way the DAG processor would and return the DAG with ``dag_id``."""
    import os

    path = (REPO / path) if not Path(path).is_absolute() else Path(path)
    # Load it from inside [core] dags_folder (symlinked there by tests/conftest.py), as Airflow would.
    dags_dir = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    relative = path.resolve().relative_to(REPO)
    if relative.parts[0] == "tests":
        relative = Path("test_dags", *relative.parts[2:])
    path = dags_dir / relative
    name = f"dagfile_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test"):
            return value
    raise LookupError(f"no DAG {dag_id!r} in {path}")


def run_dag(path: str | Path, dag_id: str, run_conf: dict[str, Any] | None = None) -> Any:
    """``dag.test()`` the DAG and return the DagRun (tasks and triggers run inline)."""
    dag = load_dag(path, dag_id)
    return dag.test(run_conf=run_conf)


def task_states(dag_run: Any) -> dict[str, str]:
    states: dict[str, str] = {}
    for ti in dag_run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        states[key] = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
    return states


def xcom(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """Read one XCom value of the run from the metadata DB."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key=key, map_index=map_index)
            .one_or_none()
        )
        if row is None:
            return None
        return XComModel.deserialize_value(row)
