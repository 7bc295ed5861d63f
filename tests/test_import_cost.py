"""DAG files import operators on every parse: that import must not pull in HTTP, metrics or lineage code."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "requests",
    "urllib3",
    "prometheus_client",
    "openlineage",
    "fastapi",
    "uvicorn",
    "ovhcloud_ai_provider.hooks.client",
    "ovhcloud_ai_provider.observability.delivery",
    "ovhcloud_ai_provider.lineage.operator_lineage",
)


def test_operator_modules_import_nothing_heavy():
    code = (
        "import sys, json\n"
        "import ovhcloud_ai_provider.operators.ai_training, ovhcloud_ai_provider.operators.ai_endpoints\n"
        "import ovhcloud_ai_provider.sensors.ai_training, ovhcloud_ai_provider.links.ai_training\n"
        "import ovhcloud_ai_provider.triggers.ai_training\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
