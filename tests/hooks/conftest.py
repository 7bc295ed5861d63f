from __future__ import annotations

import pytest

from ovhcloud_ai_provider.hooks.ai_endpoints import OVHCloudAIEndpointsHook
from ovhcloud_ai_provider.hooks.ai_training import OVHCloudAITrainingHook
from ovhcloud_ai_provider.hooks.client import RetryConfig

#: Fast retries so tests spend no time sleeping; the budget is what a test counts against.
FAST_RETRY = RetryConfig(max_retries=2, backoff_factor=0.01, backoff_max=0.05, backoff_jitter=0.0)


@pytest.fixture
def emu(ovh_connections):
    return ovh_connections


@pytest.fixture
def endpoints(emu) -> OVHCloudAIEndpointsHook:
    return OVHCloudAIEndpointsHook(retry=FAST_RETRY)


@pytest.fixture
def training(emu) -> OVHCloudAITrainingHook:
    return OVHCloudAITrainingHook(retry=FAST_RETRY)
