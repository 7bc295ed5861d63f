"""Which datasets an AI Training JobSpec reads and writes (standard library only).

Shared by the operators' lineage (``operator_lineage.training_lineage``) and the hook-level lineage
(``hook_lineage.report_training_job``) so both report the same thing:

* ``RO`` volume -> input (never synced back);
* ``RW`` / ``RWD`` volume -> output only (the job may read it too, but listing it as an input as well would draw a
  cycle job -> dataset -> job in Marquez; RW/RWD data is uploaded during FINALIZING, so "written by the job" is the
  fact worth recording);
* a volume with a ``volumeTarget`` (or legacy ``targetDataStore``): its source is an input and the target an output;
* ``standalone`` volumes have no dataset; unknown permissions count as ``RO``;
* the ``RW``/``RWD`` volume mounted at ``model_output_mount`` is flagged as the produced model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ovhcloud_ai_provider.lineage.naming import VolumeInfo, describe_volume

__all__ = ["PlannedDataset", "plan_training_datasets", "spec_volumes"]

WRITABLE = frozenset({"RW", "RWD"})


@dataclass(frozen=True)
class PlannedDataset:
    role: str  # "input" | "output"
    namespace: str
    name: str
    volume: VolumeInfo  # the source, or the target for a synced-back target
    is_model: bool = False


def _norm_mount(path: str | None) -> str | None:
    if path is None:
        return None
    return str(path).strip().rstrip("/") or "/"


def spec_volumes(spec: dict[str, Any] | None) -> list[dict[str, Any]]:
    volumes = (spec or {}).get("volumes") or []
    return [v for v in volumes if isinstance(v, dict)] if isinstance(volumes, list) else []


def plan_training_datasets(
    spec: dict[str, Any] | None, *, model_output_mount: str | None = None
) -> list[PlannedDataset]:
    model_mount = _norm_mount(model_output_mount)
    planned: dict[tuple[str, str, str], PlannedDataset] = {}

    def add(role: str, info: VolumeInfo, is_model: bool) -> None:
        dataset = info.dataset
        if dataset is None:
            return
        key = (role, *dataset)
        previous = planned.get(key)
        if previous is None:
            planned[key] = PlannedDataset(role, dataset[0], dataset[1], info, is_model)
        elif is_model and not previous.is_model:
            planned[key] = PlannedDataset(role, dataset[0], dataset[1], info, True)

    for volume in spec_volumes(spec):
        info = describe_volume(volume)
        if info is None:
            continue
        writable = info.permission in WRITABLE
        is_model = model_mount is not None and writable and _norm_mount(info.mount_path) == model_mount
        if info.target is not None:
            add("input", info, False)
            add("output", info.target, is_model)
        elif writable:
            add("output", info, is_model)
        else:
            add("input", info, False)
    return list(planned.values())
