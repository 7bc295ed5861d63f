"""Local OVHcloud emulator: AI Training + AI Endpoints on one real HTTP server (see docs/emulator.md)."""

from __future__ import annotations

from .config import EmulatorConfig
from .faults import FaultController, FaultRule
from .jobs import SCENARIOS, STATES, TERMINAL_STATES
from .server import OVHEmulator

__all__ = [
    "SCENARIOS",
    "STATES",
    "TERMINAL_STATES",
    "EmulatorConfig",
    "FaultController",
    "FaultRule",
    "OVHEmulator",
]
