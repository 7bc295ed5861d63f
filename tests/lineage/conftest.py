"""Fixtures of the lineage tests: a Marquez-compatible sink and a RunEvent builder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from ovhcloud_ai_provider.testing.lineage_sink import MarquezSink, find_spec_dir


@pytest.fixture(scope="session")
def spec_dir():
    """The OpenLineage spec copy (``../shared/openlineage-spec``); CI has it, so a missing copy is a failure."""
    return find_spec_dir()


@pytest.fixture
def sink() -> Iterator[MarquezSink]:
    with MarquezSink(port=0) as running:
        yield running


def run_event(
    lineage: Any,
    *,
    event_type: str = "COMPLETE",
    job_name: str = "dag.task",
    namespace: str = "ovh_test",
    run_id: str | None = None,
) -> dict[str, Any]:
    """Serialise an ``OperatorLineage`` into a RunEvent dict the way the Airflow adapter would."""
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    from ovhcloud_ai_provider.lineage.facets import PRODUCER

    event = RunEvent(
        eventType=RunState(event_type),
        eventTime=datetime.now(timezone.utc).isoformat(),
        run=Run(runId=run_id or str(uuid.uuid4()), facets=dict(lineage.run_facets)),
        job=Job(namespace=namespace, name=job_name, facets=dict(lineage.job_facets)),
        inputs=list(lineage.inputs),
        outputs=list(lineage.outputs),
        producer=PRODUCER,
    )
    return Serde.to_dict(event)


@pytest.fixture
def make_event():
    """``make_event(operator_lineage, event_type=..., job_name=...) -> dict`` (a serialised RunEvent)."""
    return run_event
