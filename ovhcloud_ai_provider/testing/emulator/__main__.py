"""``python -m ovhcloud_ai_provider.testing.emulator`` / ``ovhcloud-ai-emulator``: run until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType


def build_parser() -> argparse.ArgumentParser:
    """CLI options (a subset of ``OVHEmulator``'s keyword arguments)."""
    parser = argparse.ArgumentParser(
        prog="ovhcloud-ai-emulator", description="Local fake of OVHcloud AI Training + AI Endpoints."
    )
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one; default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument(
        "--training-token", action="append", dest="training_tokens", metavar="T",
        help="accepted AI Training token (repeatable; default 'training-token')",
    )  # fmt: skip
    parser.add_argument(
        "--endpoints-token", action="append", dest="endpoints_tokens", metavar="T",
        help="accepted AI Endpoints key (repeatable; default 'endpoints-token')",
    )  # fmt: skip
    parser.add_argument("--time-scale", type=float, default=1.0, help="job phase duration multiplier")
    parser.add_argument("--run-seconds", type=float, default=2.0, help="emulated seconds a job stays RUNNING")
    parser.add_argument("--region", default="gra", help="region used in job URLs (default gra)")
    parser.add_argument(
        "--rate-limit", type=int, default=400, help="AI Endpoints requests/minute per token and model"
    )
    parser.add_argument(
        "--allow-anonymous", action="store_true", help="accept AI Endpoints calls without a key"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Start the emulator, print its URL, and serve until interrupted."""
    from .server import OVHEmulator

    args = build_parser().parse_args(argv)
    emulator = OVHEmulator(
        port=args.port,
        host=args.host,
        training_tokens=args.training_tokens or ("training-token",),
        endpoints_tokens=args.endpoints_tokens or ("endpoints-token",),
        region=args.region,
        time_scale=args.time_scale,
        default_run_seconds=args.run_seconds,
        rate_limit_per_minute=args.rate_limit,
        allow_anonymous=args.allow_anonymous,
    )
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    emulator.start()
    print(f"OVH emulator listening on {emulator.url}", flush=True)
    try:
        while not stop.wait(0.5):
            if not emulator.running:
                print("OVH emulator server stopped unexpectedly", file=sys.stderr, flush=True)
                return 1
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
