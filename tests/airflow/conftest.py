from __future__ import annotations

import json

import pytest


@pytest.fixture
def af(airflow_db, ovh_connections, monkeypatch):
    """Airflow's DB plus emulator connections; a second training connection without HTTP retries."""
    emu = ovh_connections
    monkeypatch.setenv(
        "AIRFLOW_CONN_OVH_TRAINING_NO_RETRY",
        json.dumps(
            {
                "conn_type": "ovhcloud_ai_training",
                "host": emu.url,
                "login": "gra",
                "password": "training-token",
                "extra": {"max_retries": 0},
            }
        ),
    )
    return emu
