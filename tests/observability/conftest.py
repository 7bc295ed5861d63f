"""Fixtures for the observability tests: a clean configuration per test and real multiprocess dirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ovhcloud_ai_provider.observability import delivery

from .helpers import CONFIG_ENV_PREFIXES


@pytest.fixture(autouse=True)
def clean_observability_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ambient configuration leaks into a test, and no sink survives it."""
    for name in list(os.environ):
        if name.startswith(CONFIG_ENV_PREFIXES) or name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
            monkeypatch.delenv(name, raising=False)
    import prometheus_client.values as values

    original_value_class = values.ValueClass
    delivery.reset()
    yield
    delivery.reset()
    # A multiprocess sink installs prometheus_client's mmap value class process-wide (as it would in a task
    # process, for good). Between tests, put the original back so the next test starts from scratch.
    if values.ValueClass is not original_value_class:
        close = getattr(values.ValueClass, "close_all_files", None)
        if close is not None:
            close()
        values.ValueClass = original_value_class


@pytest.fixture
def mp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Multiprocess mode on a fresh ``PROMETHEUS_MULTIPROC_DIR``."""
    directory = tmp_path / "multiproc"
    directory.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    monkeypatch.setenv("OVHCLOUD_AI_METRICS_MODE", "multiprocess")
    delivery.reset()
    return directory
