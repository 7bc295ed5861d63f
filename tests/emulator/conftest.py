"""Shared fixtures: the plugin's ``ovh_emulator`` (real server, reset per test) sped up, plus HTTP helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ovhcloud_ai_provider.testing.emulator import OVHEmulator

TRAINING_TOKEN = "training-token"
ENDPOINTS_TOKEN = "endpoints-token"


class Api:
    """Thin ``requests`` wrapper: base URL + bearer token, no retries (we want to see every answer)."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create_job(self, **spec: Any) -> dict[str, Any]:
        spec.setdefault("image", "ubuntu:22.04")
        response = self.post("/v1/job", json=spec)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/job/{job_id}")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        return job


@pytest.fixture
def emu(ovh_emulator: OVHEmulator) -> OVHEmulator:
    """The session emulator, reset, with job phases 20x faster than real time."""
    ovh_emulator.configure(time_scale=0.05)
    return ovh_emulator


@pytest.fixture
def training(emu: OVHEmulator) -> Iterator[Api]:
    api = Api(emu.url, TRAINING_TOKEN)
    yield api
    api.session.close()


@pytest.fixture
def endpoints(emu: OVHEmulator) -> Iterator[Api]:
    api = Api(emu.url, ENDPOINTS_TOKEN)
    yield api
    api.session.close()


def states(job: dict[str, Any]) -> list[str]:
    """The state history of a job object."""
    return [h["state"] for h in job["status"]["history"]]
