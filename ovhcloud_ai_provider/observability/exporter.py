"""``ovhcloud-ai-metrics-exporter``: serve one host's ``PROMETHEUS_MULTIPROC_DIR`` on ``/metrics``.

Task processes write ``prometheus_client`` multiprocess files (``counter_<pid>.db``, ``histogram_<pid>.db``,
``gauge_<mode>_<pid>.db``). Summing them at scrape time gives exact totals across any number of short-lived
task processes, but the directory grows by a few files per task, and scrapes slow down as it grows
(client_python#204: 5,414 files took 10 s).

So on every scrape the exporter first *folds* the files of dead processes:

* counters, histograms (and ``sum`` gauges) of dead pids are added, key by key, into one archive file per
  file type, written with ``prometheus_client``'s own ``MmapedDict`` under the reserved pseudo-pid
  ``archive-<generation>``; ``max``/``min``/``mostrecent`` gauges keep the max / min / latest value;
* ``live*`` gauges of dead pids are deleted (``mark_process_dead`` semantics: a dead process waits on
  nothing);
* the dead files are then removed.

Totals are identical before and after a fold, and the directory holds one archive per type plus the files
of live processes. A fold is crash-safe: dead files are first moved into ``.fold/<type>-<generation>/``,
the new archive replaces the old one by ``rename``, and an interrupted fold is finished or rolled back on
the next run (the archive's generation says whether the staged files are already in it).

Liveness is ``kill(pid, 0)``: run the exporter in the same pid namespace as the task processes (same host
or container), or pass ``--no-fold``. Run one exporter per directory; an advisory lock serialises
concurrent folds and scrapes anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import glob
import os
import re
import shutil
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Final

from ovhcloud_ai_provider.observability.delivery import multiproc_dir

ARCHIVE_PID_PREFIX: Final = "archive-"
FOLD_DIR: Final = ".fold"
LOCK_FILE: Final = ".fold.lock"
DEFAULT_PORT: Final = 9877
_FILE_RE = re.compile(r"^(?P<prefix>[a-z]+(?:_[a-z]+)?)_(?P<pid>[^_]+)\.db$")
_SUM_PREFIXES: Final = frozenset({"counter", "histogram", "summary", "gauge_sum"})
_FOLDABLE_GAUGES: Final = frozenset({"gauge_max", "gauge_min", "gauge_mostrecent", "gauge_sum"})


def _parse(filename: str) -> tuple[str, str] | None:
    """``counter_123.db`` -> ``("counter", "123")``; ``gauge_livesum_9.db`` -> ``("gauge_livesum", "9")``."""
    match = _FILE_RE.match(os.path.basename(filename))
    return (match.group("prefix"), match.group("pid")) if match else None


def _archive_generation(pid: str) -> int | None:
    if not pid.startswith(ARCHIVE_PID_PREFIX):
        return None
    try:
        return int(pid[len(ARCHIVE_PID_PREFIX) :])
    except ValueError:
        return None


def pid_alive(pid: int) -> bool:
    """``kill(pid, 0)``: alive (or not ours to signal) vs. gone."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError as exc:
        return exc.errno != errno.ESRCH
    return True


@contextlib.contextmanager
def _locked(directory: str, exclusive: bool) -> Iterator[None]:
    path = os.path.join(directory, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _read(path: str) -> Iterator[tuple[str, float, float]]:
    from prometheus_client.mmap_dict import MmapedDict

    for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(path):
        yield key, value, timestamp


def _merge_into(acc: dict[str, tuple[float, float]], prefix: str, rows: Iterable[tuple[str, float, float]]) -> None:
    for key, value, timestamp in rows:
        current = acc.get(key)
        if current is None:
            acc[key] = (value, timestamp)
        elif prefix in _SUM_PREFIXES:
            acc[key] = (current[0] + value, max(current[1], timestamp))
        elif prefix == "gauge_max":
            acc[key] = max(current, (value, timestamp), key=lambda item: item[0])
        elif prefix == "gauge_min":
            acc[key] = min(current, (value, timestamp), key=lambda item: item[0])
        elif prefix == "gauge_mostrecent" and timestamp > current[1]:
            acc[key] = (value, timestamp)


def _write_archive(path: str, merged: dict[str, tuple[float, float]]) -> None:
    from prometheus_client.mmap_dict import MmapedDict

    if os.path.exists(path):
        os.remove(path)
    archive = MmapedDict(path)
    try:
        for key, (value, timestamp) in merged.items():
            archive.write_value(key, value, timestamp)
    finally:
        archive.close()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _archives(directory: str) -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for path in glob.glob(os.path.join(directory, "*.db")):
        parsed = _parse(path)
        if parsed is None:
            continue
        generation = _archive_generation(parsed[1])
        if generation is not None:
            found.setdefault(parsed[0], []).append((generation, path))
    for entries in found.values():
        entries.sort()
    return found


def _recover(directory: str) -> None:
    """Finish or roll back a fold interrupted by a crash (see the module docstring)."""
    archives = _archives(directory)
    current: dict[str, int] = {}
    for prefix, entries in archives.items():
        current[prefix] = entries[-1][0]
        for _generation, path in entries[:-1]:  # superseded: the newer archive already contains them
            os.remove(path)
    staging_root = os.path.join(directory, FOLD_DIR)
    if not os.path.isdir(staging_root):
        return
    for name in os.listdir(staging_root):
        stage = os.path.join(staging_root, name)
        prefix, _, generation_text = name.rpartition("-")
        if not os.path.isdir(stage) or not generation_text.isdigit() or name == "corrupt":
            continue
        if int(generation_text) > current.get(prefix, 0):
            # The fold never committed: put the dead files back, a later fold takes them again.
            for staged in os.listdir(stage):
                parsed = _parse(staged)
                target = os.path.join(directory, staged)
                if parsed and _archive_generation(parsed[1]) is None and not os.path.exists(target):
                    os.rename(os.path.join(stage, staged), target)
        shutil.rmtree(stage, ignore_errors=True)


def _quarantine(directory: str, path: str) -> None:
    corrupt = os.path.join(directory, FOLD_DIR, "corrupt")
    os.makedirs(corrupt, exist_ok=True)
    os.rename(path, os.path.join(corrupt, os.path.basename(path)))


def _fold_prefix(directory: str, prefix: str, dead: list[str], alive: dict[int, bool]) -> int:
    entries = _archives(directory).get(prefix, [])
    generation = entries[-1][0] if entries else 0
    old_archive = entries[-1][1] if entries else None
    new_generation = generation + 1
    stage = os.path.join(directory, FOLD_DIR, f"{prefix}-{new_generation}")
    os.makedirs(stage, exist_ok=True)
    staged: list[str] = []
    for path in dead:
        target = os.path.join(stage, os.path.basename(path))
        try:
            os.rename(path, target)
        except FileNotFoundError:
            continue
        staged.append(target)
    # A pid reused between the liveness check and the rename: hand its file back untouched.
    kept: list[str] = []
    for target in staged:
        parsed = _parse(target)
        assert parsed is not None
        original = os.path.join(directory, os.path.basename(target))
        if pid_alive(int(parsed[1])) and not os.path.exists(original):
            os.rename(target, original)
            alive[int(parsed[1])] = True
        else:
            kept.append(target)
    if not kept:
        shutil.rmtree(stage, ignore_errors=True)
        return 0
    merged: dict[str, tuple[float, float]] = {}
    if old_archive is not None:
        _merge_into(merged, prefix, _read(old_archive))
    folded: list[str] = []
    for target in kept:
        try:
            rows = list(_read(target))
        except Exception:  # RuntimeError/struct.error on a torn or foreign file: keep it aside, go on
            _quarantine(directory, target)
            continue
        _merge_into(merged, prefix, rows)
        folded.append(target)
    if not folded:
        shutil.rmtree(stage, ignore_errors=True)
        return 0
    tmp_archive = os.path.join(stage, f"{prefix}_{ARCHIVE_PID_PREFIX}{new_generation}.db.tmp")
    _write_archive(tmp_archive, merged)
    os.rename(tmp_archive, os.path.join(directory, f"{prefix}_{ARCHIVE_PID_PREFIX}{new_generation}.db"))  # commit
    if old_archive is not None:
        os.remove(old_archive)
    shutil.rmtree(stage, ignore_errors=True)
    return len(folded)


def fold_dead_processes(directory: str) -> int:
    """Fold the files of dead processes into the archives; return how many files were folded or dropped."""
    if not os.path.isdir(directory):
        return 0
    with _locked(directory, exclusive=True):
        _recover(directory)
        alive: dict[int, bool] = {}
        dead_by_prefix: dict[str, list[str]] = {}
        removed = 0
        for path in sorted(glob.glob(os.path.join(directory, "*.db"))):
            parsed = _parse(path)
            if parsed is None or not parsed[1].isdigit():
                continue  # archives and foreign files
            prefix, pid = parsed[0], int(parsed[1])
            if pid not in alive:
                alive[pid] = pid_alive(pid)
            if alive[pid]:
                continue
            if prefix.startswith("gauge_live"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                    removed += 1
            elif prefix in _SUM_PREFIXES or prefix in _FOLDABLE_GAUGES:
                dead_by_prefix.setdefault(prefix, []).append(path)
            # gauge_all / gauge_liveall carry a pid label by design: they cannot be folded, leave them.
        for prefix, dead in sorted(dead_by_prefix.items()):
            removed += _fold_prefix(directory, prefix, dead, alive)
        return removed


class FoldingMultiProcessCollector:
    """``MultiProcessCollector`` over ``directory`` that folds dead processes' files before each collect."""

    def __init__(self, directory: str, *, fold: bool = True) -> None:
        self.directory = directory
        self.fold = fold
        self._fold_error_reported = False
        self._lock = threading.Lock()

    def collect(self) -> Iterable[Any]:
        from prometheus_client.multiprocess import MultiProcessCollector

        with self._lock:
            if self.fold:
                try:
                    fold_dead_processes(self.directory)
                except Exception as exc:  # serve unfolded data rather than nothing
                    if not self._fold_error_reported:
                        self._fold_error_reported = True
                        print(f"ovhcloud-ai-metrics-exporter: fold failed: {exc!r}", file=sys.stderr)
            with _locked(self.directory, exclusive=False):
                files = glob.glob(os.path.join(self.directory, "*.db"))
                return list(MultiProcessCollector.merge(files, accumulate=True))


def build_registry(directory: str, *, fold: bool = True) -> Any:
    """A fresh ``CollectorRegistry`` exposing ``directory`` (never the global ``REGISTRY``)."""
    from prometheus_client import CollectorRegistry

    os.makedirs(directory, exist_ok=True)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FoldingMultiProcessCollector(directory, fold=fold))  # type: ignore[arg-type]
    return registry


def render(directory: str, *, fold: bool = True) -> bytes:
    """The text exposition of ``directory`` (what ``/metrics`` answers)."""
    from prometheus_client import generate_latest

    return bytes(generate_latest(build_registry(directory, fold=fold)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ovhcloud-ai-metrics-exporter",
        description="Serve the OVHcloud AI provider's multiprocess metrics of this host on /metrics.",
    )
    parser.add_argument(
        "--dir",
        default=multiproc_dir(),
        help="multiprocess directory (default: $PROMETHEUS_MULTIPROC_DIR)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"listen port, 0 = any (default: {DEFAULT_PORT})")
    parser.add_argument("--no-fold", action="store_true", help="never fold dead processes' files")
    parser.add_argument("--once", action="store_true", help="print one exposition to stdout and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    args = _parser().parse_args(argv)
    if not args.dir:
        print("ovhcloud-ai-metrics-exporter: --dir or PROMETHEUS_MULTIPROC_DIR is required", file=sys.stderr)
        return 2
    directory = os.path.abspath(args.dir)
    if args.once:
        sys.stdout.buffer.write(render(directory, fold=not args.no_fold))
        sys.stdout.flush()
        return 0
    from prometheus_client import start_http_server

    registry = build_registry(directory, fold=not args.no_fold)
    server, thread = start_http_server(args.port, addr=args.host, registry=registry)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    print(f"ovhcloud-ai-metrics-exporter listening on http://{host}:{port}/metrics dir={directory}", flush=True)
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop.wait(3600):
        pass
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0


__all__ = ["DEFAULT_PORT", "FoldingMultiProcessCollector", "build_registry", "fold_dead_processes", "main", "render"]

if __name__ == "__main__":
    raise SystemExit(main())
