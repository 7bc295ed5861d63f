"""Import time of the operator modules with the lineage code present vs. made unavailable.

DAG files import the operators on every parse, so lineage (``ovhcloud_ai_provider.lineage`` and
``openlineage``) must cost nothing at import time: the operators import it inside their
``get_openlineage_facets_on_*`` methods only. This benchmark imports each operator module in fresh
interpreters (median of ``--repeat`` runs, default 10):

* ``present``: normal environment;
* ``blocked``: a ``sys.meta_path`` finder makes ``ovhcloud_ai_provider.lineage*`` and ``openlineage*``
  unimportable (as if the lineage code and the OpenLineage client were absent).

and prints both side by side with their ratio (~1.00 expected), plus which lineage modules the import pulled
in (none expected), and for reference the one-off cost of the lineage code when OpenLineage does call it.

Usage: ``python benchmarks/bench_lineage_import.py [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

MODULES = ("ovhcloud_ai_provider.operators.ai_endpoints", "ovhcloud_ai_provider.operators.ai_training")
LINEAGE_MODULE = "ovhcloud_ai_provider.lineage.operator_lineage"
BLOCKED_PREFIXES = ("openlineage", "ovhcloud_ai_provider.lineage")

CHILD = r"""
import importlib, importlib.abc, json, sys, time

BLOCKED = tuple(sys.argv[3].split(","))

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == p or name.startswith(p + ".") for p in BLOCKED):
            raise ModuleNotFoundError(f"blocked by the benchmark: {name}", name=name)
        return None

if sys.argv[2] == "blocked":
    sys.meta_path.insert(0, Blocker())
if len(sys.argv) > 4:  # measure the import of argv[1] on top of an already imported module
    importlib.import_module(sys.argv[4])
error = None
start = time.perf_counter()
try:
    importlib.import_module(sys.argv[1])
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
elapsed = time.perf_counter() - start
loaded = sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in BLOCKED))
print(json.dumps({"seconds": elapsed, "error": error, "lineage_modules": loaded}))
"""


def measure(module: str, mode: str, after: str | None = None) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, module, mode, ",".join(BLOCKED_PREFIXES), *([after] if after else [])],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        return {"seconds": float("nan"), "error": result.stderr.strip()[-300:], "lineage_modules": []}
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_of(
    module: str, mode: str, repeat: int, after: str | None = None
) -> tuple[float, str | None, list[str]]:
    runs = [measure(module, mode, after) for _ in range(repeat)]
    errors = [r["error"] for r in runs if r["error"]]
    return (
        statistics.median(r["seconds"] for r in runs),
        (errors[0] if errors else None),
        runs[-1]["lineage_modules"],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    print(f"Operator module import time, fresh interpreter, median of {args.repeat} runs")
    header = f"{'module':<46} {'lineage present':>16} {'lineage blocked':>16} {'ratio':>7}  lineage modules imported"
    print(header)
    print("-" * len(header))
    failed = False
    for module in MODULES:
        present, present_error, loaded = median_of(module, "present", args.repeat)
        blocked, blocked_error, _ = median_of(module, "blocked", args.repeat)
        ratio = present / blocked if blocked else float("nan")
        print(
            f"{module:<46} {present * 1000:>13.1f} ms {blocked * 1000:>13.1f} ms {ratio:>7.2f}  "
            f"{', '.join(loaded) or 'none'}"
        )
        for label, error in (("present", present_error), ("blocked", blocked_error)):
            if error:
                failed = True
                print(f"  ! import failed ({label}): {error}")
    cost, error, _ = median_of(LINEAGE_MODULE, "present", max(3, args.repeat // 3), after=MODULES[1])
    print(
        f"\nFor reference: {LINEAGE_MODULE} on top of the operators (paid once per task process, only when "
        f"OpenLineage calls the lineage methods): {cost * 1000:.1f} ms"
        + (f" (failed: {error})" if error else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
