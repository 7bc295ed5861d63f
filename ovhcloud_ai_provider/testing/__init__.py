"""Test utilities: the OVHcloud emulator and the pytest plugin.

``OVHEmulator`` is imported lazily: FastAPI/uvicorn are optional (``[emulator]`` extra) and importing this
package must stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import OVHEmulator

__all__ = ["OVHEmulator"]


def __getattr__(name: str) -> Any:
    if name == "OVHEmulator":
        from .emulator import OVHEmulator

        return OVHEmulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
