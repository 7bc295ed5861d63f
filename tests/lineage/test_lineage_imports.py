"""Import rules: light modules stay light; without the OpenLineage provider the builders fail cleanly."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_light_lineage_modules_import_neither_openlineage_nor_airflow():
    """Hooks import these at call time and Airflow imports ``assets`` while discovering providers."""
    result = _run(
        """
        import sys
        import ovhcloud_ai_provider.lineage
        import ovhcloud_ai_provider.lineage.naming, ovhcloud_ai_provider.lineage.volumes
        import ovhcloud_ai_provider.lineage.hook_lineage, ovhcloud_ai_provider.lineage.assets
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("openlineage", "airflow"))
        print(heavy)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_operator_lineage_without_the_openlineage_provider_raises_a_clean_import_error():
    result = _run(
        """
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith("airflow.providers.openlineage"):
                    raise ModuleNotFoundError(name, name=name)

        sys.meta_path.insert(0, Block())
        try:
            import ovhcloud_ai_provider.lineage.operator_lineage
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert (
        "ImportError: OpenLineage support of the OVHcloud AI provider needs apache-airflow-providers-openlineage"
        in (result.stdout)
    )
