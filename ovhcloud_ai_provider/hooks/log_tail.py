"""Follow a job's plain-text log across polls without printing a line twice.

The API has no cursor: each poll re-reads the last ``tail`` lines. We remember the newest timestamp seen and
the lines already printed at that timestamp, so a line is new if it is stamped later, or stamped at the
cursor and not yet printed.
"""

from __future__ import annotations

from datetime import datetime

from ovhcloud_ai_provider.hooks.ai_training import line_timestamp

#: Lines asked for per poll; more new lines than this between two polls are not all shown.
DEFAULT_TAIL_LINES = 500


class LogTailer:
    def __init__(self) -> None:
        self.cursor: datetime | None = None
        self._seen_at_cursor: set[str] = set()

    def new_lines(self, text: str) -> list[str]:
        fresh: list[str] = []
        current: datetime | None = None
        for line in text.splitlines():
            stamp = line_timestamp(line)
            if stamp is not None:
                current = stamp
            if current is None or not line.strip():
                continue
            if self.cursor is not None and current < self.cursor:
                continue
            if self.cursor is not None and current == self.cursor and line in self._seen_at_cursor:
                continue
            if self.cursor is None or current > self.cursor:
                self.cursor = current
                self._seen_at_cursor = set()
            self._seen_at_cursor.add(line)
            fresh.append(line)
        return fresh

    def to_state(self) -> dict[str, object]:
        """JSON-friendly state, so a cursor can be handed to a trigger in its kwargs. (A triggerer restart
        rebuilds the trigger from the kwargs it was deferred with, so lines seen since may print again.)"""
        return {"cursor": self.cursor.isoformat() if self.cursor else None, "seen": sorted(self._seen_at_cursor)}

    @classmethod
    def from_state(cls, state: dict[str, object] | None) -> LogTailer:
        tailer = cls()
        if state and state.get("cursor"):
            tailer.cursor = datetime.fromisoformat(str(state["cursor"]))
            tailer._seen_at_cursor = {str(line) for line in (state.get("seen") or [])}  # type: ignore[attr-defined]
        return tailer
