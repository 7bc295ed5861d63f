"""Pytest plugin (entry point ``ovhcloud_ai_emulator``): emulator and Airflow-connection fixtures.

Loaded for every pytest run of a project that installs this provider, so it imports nothing heavy at module
level; the emulator is imported inside the fixtures.

Fixtures:
- ``ovh_emulator_session``: one running ``OVHEmulator`` per test session.
- ``ovh_emulator``: the same server, reset before each test (jobs, accounting, faults, settings), and
  re-configured by ``@pytest.mark.ovh_emulator(time_scale=0.05, ...)`` when present.
- ``ovh_connections``: ``ovh_emulator`` plus ``AIRFLOW_CONN_OVH_AI_ENDPOINTS_DEFAULT`` and
  ``AIRFLOW_CONN_OVH_AI_TRAINING_DEFAULT`` pointing at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ovhcloud_ai_provider.testing.emulator import OVHEmulator



def pytest_configure(config: pytest.Config) -> None:
    """Register the ``ovh_emulator`` marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        "ovh_emulator(**settings): settings applied to the ovh_emulator fixture for one test "
        "(e.g. time_scale=0.05, rate_limit_per_minute=3)",
    )


@pytest.fixture(scope="session")
def ovh_emulator_session() -> Iterator[OVHEmulator]:
    """A real emulator server shared by the whole session (starting uvicorn per test would be slow)."""
    from ovhcloud_ai_provider.testing.emulator import OVHEmulator

    with OVHEmulator(port=0) as emulator:
        yield emulator


@pytest.fixture
def ovh_emulator(ovh_emulator_session: OVHEmulator, request: pytest.FixtureRequest) -> Iterator[OVHEmulator]:
    """The session emulator, reset for this test and configured by its ``ovh_emulator`` marker."""
    ovh_emulator_session.reset()
    marker = request.node.get_closest_marker("ovh_emulator")
    if marker is not None:
        ovh_emulator_session.configure(**marker.kwargs)
    yield ovh_emulator_session


@pytest.fixture
def ovh_connections(ovh_emulator: OVHEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[OVHEmulator]:
    """Point the provider's default Airflow connections at the emulator (JSON connection env vars)."""
    from ovhcloud_ai_provider.testing.dag_runner import emulator_connections

    config = ovh_emulator.config
    for name, value in emulator_connections(
        ovh_emulator.url,
        training_token=config.training_tokens[0],
        endpoints_token=config.endpoints_tokens[0],
        region=config.region,
    ).items():
        monkeypatch.setenv(name, value)
    yield ovh_emulator
