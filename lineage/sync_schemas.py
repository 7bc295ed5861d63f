"""Keep the facet JSON Schemas in step with the package version.

``lineage/facets/*.json`` (this directory, published at the release tag) is the source of truth; the package
ships identical copies in ``ovhcloud_ai_provider/lineage/schemas/`` (a test checks they are identical and that
every ``$id`` carries ``v<__version__>``). After bumping the version, run::

    python lineage/sync_schemas.py          # rewrite the $id tags, copy into the package
    python lineage/sync_schemas.py --check  # exit 1 if anything is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "lineage" / "facets"
PACKAGE = REPO / "ovhcloud_ai_provider" / "lineage" / "schemas"
ID = re.compile(r"^(https://raw\.githubusercontent\.com/[^/]+/[^/]+/)[^/]+(/lineage/facets/[A-Za-z]+\.json)$")


def expected_texts() -> dict[str, str]:
    sys.path.insert(0, str(REPO))
    from ovhcloud_ai_provider import __version__

    texts = {}
    for path in sorted(SOURCE.glob("*.json")):
        doc = json.loads(path.read_text())
        match = ID.match(doc["$id"])
        if not match:
            raise SystemExit(f"{path}: unexpected $id {doc['$id']}")
        doc["$id"] = f"{match.group(1)}v{__version__}{match.group(2)}"
        texts[path.name] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return texts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for name, text in expected_texts().items():
        for directory in (SOURCE, PACKAGE):
            target = directory / name
            if not target.exists() or target.read_text() != text:
                stale.append(str(target.relative_to(REPO)))
                if not args.check:
                    target.write_text(text)
    extra = {p.name for p in PACKAGE.glob("*.json")} - {p.name for p in SOURCE.glob("*.json")}
    for name in sorted(extra):
        stale.append(f"ovhcloud_ai_provider/lineage/schemas/{name} (not in lineage/facets)")
        if not args.check:
            (PACKAGE / name).unlink()
    if stale:
        print(("out of date: " if args.check else "updated: ") + ", ".join(stale))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
