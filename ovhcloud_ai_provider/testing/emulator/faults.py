"""Fault injection: latency, error answers, dropped connections and malformed bodies.

Rules are deterministic by default: ``count`` fires a fault on the next N matching requests, and ``rate``
uses a per-rule RNG seeded with ``seed`` so a test run is reproducible. Rules are evaluated in insertion
order; latency rules add up and never stop evaluation, the first firing terminal rule (error, drop,
malformed) decides the answer.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

FAULT_KINDS = ("latency", "error", "drop", "malformed")
_ids = itertools.count(1)


@dataclass
class FaultRule:
    """One fault rule. ``count=None`` means unlimited, ``rate=None`` means every matching request."""

    kind: str
    status: int = 503
    count: int | None = None
    rate: float | None = None
    latency: float = 0.0
    path_prefix: str = ""
    method: str | None = None
    route: str | None = None
    model: str | None = None
    body: str | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False
    skip: int = 0
    seed: int = 0
    id: str = ""
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate and normalise; a bad rule must fail when added, not silently never match."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if not 100 <= int(self.status) <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status!r}")
        self.status = int(self.status)
        if self.count is not None and int(self.count) < 0:
            raise ValueError("count must be >= 0")
        if self.rate is not None and not 0.0 <= float(self.rate) <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if float(self.latency) < 0:
            raise ValueError("latency must be >= 0")
        if self.kind == "latency" and float(self.latency) <= 0:
            raise ValueError("a latency fault needs latency > 0 (seconds)")
        if self.after and self.kind not in ("error", "drop"):
            raise ValueError("after=True only applies to error and drop faults")
        if self.path_prefix and not self.path_prefix.startswith("/"):
            raise ValueError("path_prefix must start with '/'")
        if int(self.skip) < 0:
            raise ValueError("skip must be >= 0")
        self.skip = int(self.skip)
        self.count = int(self.count) if self.count is not None else None
        self.rate = float(self.rate) if self.rate is not None else None
        self.latency = float(self.latency)
        self.method = self.method.upper() if self.method else None
        self.headers = {str(k): str(v) for k, v in (self.headers or {}).items()}
        self.id = self.id or f"fault-{next(_ids)}"
        self._rng = random.Random(self.seed)

    def matches(self, method: str, path: str, route: str | None, model: str | None) -> bool:
        """Whether the rule's scope (method, path prefix, route template, model) covers this request."""
        if self.method and self.method != method.upper():
            return False
        if self.path_prefix and not path.startswith(self.path_prefix):
            return False
        if self.route and self.route != route:
            return False
        return not (self.model and self.model != model)

    def try_fire(self) -> bool:
        """Consume one firing if the count and the seeded coin allow it (after ``skip`` matching requests
        passed untouched: "fail the third call")."""
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.count is not None and self.count <= 0:
            return False
        if self.rate is not None and self._rng.random() >= self.rate:
            return False
        if self.count is not None:
            self.count -= 1
        self.fired += 1
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON view for ``GET /_emulator/faults`` (``count`` is the remaining number of firings)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "count": self.count,
            "rate": self.rate,
            "latency": self.latency,
            "path_prefix": self.path_prefix,
            "method": self.method,
            "route": self.route,
            "model": self.model,
            "body": self.body,
            "content_type": self.content_type,
            "headers": dict(self.headers),
            "after": self.after,
            "skip": self.skip,
            "seed": self.seed,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class FaultDecision:
    """What the middleware must do for one request."""

    latency: float = 0.0
    rule: FaultRule | None = None


#: Options a rule accepts: its dataclass fields, less the bookkeeping ones.
_RULE_FIELDS = frozenset(f.name for f in fields(FaultRule) if not f.name.startswith("_") and f.name != "fired")


class FaultController:
    """Thread-safe list of fault rules, shared by the Python API and ``/_emulator/faults``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, kind: str, **options: Any) -> FaultRule:
        """Add a rule; ``options`` are the ``FaultRule`` fields (status, count, rate, latency, path_prefix,
        method, route, model, body, content_type, headers, after, skip, seed)."""
        unknown = sorted(set(options) - _RULE_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(unknown)}")
        rule = FaultRule(kind=kind, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def add_dict(self, spec: Mapping[str, Any]) -> FaultRule:
        """Add a rule from a JSON-like mapping (the body of ``POST /_emulator/faults``)."""
        data = dict(spec)
        kind = data.pop("kind", None)
        if not isinstance(kind, str):
            raise ValueError("a fault needs a 'kind': one of " + ", ".join(FAULT_KINDS))
        return self.add(kind, **data)

    def load(self, specs: Iterable[Mapping[str, Any]]) -> list[FaultRule]:
        """Add several rules atomically: either all are valid and added, or none."""
        rules = []
        for spec in specs:
            data = dict(spec)
            kind = data.pop("kind", None)
            if not isinstance(kind, str):
                raise ValueError("a fault needs a 'kind': one of " + ", ".join(FAULT_KINDS))
            unknown = sorted(set(data) - _RULE_FIELDS)
            if unknown:
                raise ValueError(f"unknown fault option(s): {', '.join(unknown)}")
            rules.append(FaultRule(kind=kind, **data))
        with self._lock:
            self._rules.extend(rules)
        return rules

    # Convenience constructors: the names read well in tests.
    def latency(self, seconds: float, **scope: Any) -> FaultRule:
        """Delay matching requests by ``seconds`` (then answer normally)."""
        return self.add("latency", latency=seconds, **scope)

    def error(self, status: int = 503, **options: Any) -> FaultRule:
        """Answer matching requests with ``status`` (HTML body for 502/503/504 unless ``body`` says otherwise)."""
        return self.add("error", status=status, **options)

    def fail_next(self, n: int, status: int = 503, **options: Any) -> FaultRule:
        """The next ``n`` matching requests fail with ``status``."""
        return self.add("error", status=status, count=n, **options)

    def drop(self, **options: Any) -> FaultRule:
        """Close the connection without any answer (the client sees a connection error)."""
        return self.add("drop", **options)

    def malformed(self, **options: Any) -> FaultRule:
        """Answer 200 ``application/json`` with a truncated body (the real answer cut in half)."""
        return self.add("malformed", **options)

    def remove(self, rule_id: str) -> bool:
        """Remove one rule by id; ``False`` if it did not exist."""
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """The live rule objects (their ``fired``/``count`` change as requests arrive)."""
        with self._lock:
            return list(self._rules)

    def snapshot(self) -> list[dict[str, Any]]:
        """JSON view of every rule."""
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def evaluate(self, method: str, path: str, route: str | None, model: str | None) -> FaultDecision:
        """Decide the faults for one request, consuming counts and RNG draws of the rules that fire."""
        latency = 0.0
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, route, model) or not rule.try_fire():
                    continue
                latency += rule.latency
                if rule.kind != "latency":
                    return FaultDecision(latency=latency, rule=rule)
        return FaultDecision(latency=latency)
