"""A Marquez-compatible OpenLineage sink for tests: a real HTTP server on loopback (stdlib only).

It implements the part of Marquez's API (``/work/shared/marquez-api/openapi.yml``, base path ``/api/v1``) that
the provider's tests and users need, with Marquez's own acceptance rules:

* ``POST /api/v1/lineage`` (RunEvent, DatasetEvent or JobEvent): **201** with an empty body; **400** for a body
  that is not a JSON object, an unparsable ``eventTime``, an unknown ``eventType`` or a namespace outside
  ``^[a-zA-Z:;=/0-9_\\-\\.@+]{1,1024}$``; **422** when a required field is missing (``eventTime``,
  ``producer``, ``run.runId`` (must be a UUID), ``job.namespace``/``job.name``, a dataset's namespace/name,
  a ``parent`` facet without ``run.runId``/``job``). Gzip bodies (``Content-Encoding: gzip``) are accepted.
* Reads: ``GET /api/v1/namespaces[/{ns}]``, ``/namespaces/{ns}/jobs[/{job}[/runs]]`` (``latestRun``, ``inputs``,
  ``outputs``, ``facets``), ``/namespaces/{ns}/datasets[/{name}]`` (``facets``, ``sourceName``),
  ``/jobs/runs/{id}``, ``/jobs/runs/{id}/facets?type=run|job``, ``/events/lineage``, ``/sources`` and
  ``/lineage?nodeId=dataset:<ns>:<name>|job:<ns>:<name>&depth=N`` (graph of nodes with in/out edges,
  dataset -> job -> dataset, ``depth`` counted in job-to-job hops like Marquez, default 20).

Python API::

    with MarquezSink(port=0) as sink:
        sink.url                       # "http://127.0.0.1:PORT"  (transport: {"type": "http", "url": sink.url})
        sink.events()                  # accepted events, in arrival order
        sink.lineage("job:ns:dag.task", depth=2)
        sink.fail_with(503)            # every POST now answers 503 (None: back to normal)
        sink.stop()                    # connection refused from now on

``validate_event(event)`` checks an event offline against the OpenLineage JSON Schemas
(``../shared/openlineage-spec`` next to the repository, or ``$OPENLINEAGE_SPEC_DIR``) plus this provider's facet
schemas; ``MarquezSink(validate=True)`` runs it on every accepted event (``sink.validation_errors()``).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["AIRFLOW_PRODUCER_PREFIX", "MarquezSink", "find_spec_dir", "validate_event"]

NAMESPACE_RE = re.compile(r"^[a-zA-Z:;=/0-9_\-\.@+]{1,1024}$")
EVENT_TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}
RUN_STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED",
              "ABORT": "ABORTED"}  # fmt: skip
TERMINAL = {"COMPLETED", "FAILED", "ABORTED"}
#: ``_producer`` prefix of the Airflow OpenLineage provider's facets (their schemas are not in the spec copy).
AIRFLOW_PRODUCER_PREFIX = "https://github.com/apache/airflow/tree/providers-openlineage/"


class LineageRejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _parse_event_time(value: Any) -> datetime:
    if not isinstance(value, str) or "t" not in value.lower():
        raise ValueError(f"Cannot deserialize value of type `java.time.ZonedDateTime` from String {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:  # Python 3.10's fromisoformat is narrower than ISO 8601
        from dateutil.parser import isoparse

        parsed = isoparse(value)
    if parsed.tzinfo is None:  # Marquez needs an offset (ZonedDateTime)
        raise ValueError(f"Cannot deserialize value of type `java.time.ZonedDateTime` from String {value!r}")
    return parsed


def _ds_key(d: dict[str, Any]) -> tuple[str, str]:
    return str(d["namespace"]), str(d["name"])


# ---------------------------------------------------------------------------------------------- checks
def check_event(event: Any) -> None:
    """Marquez's acceptance rules for ``POST /api/v1/lineage``. Raises :class:`LineageRejected`."""
    if not isinstance(event, dict):
        raise LineageRejected(400, "Unable to process JSON: the body must be a JSON object")
    # 1. bean validation (422)
    missing: list[str] = []
    if not event.get("eventTime"):
        missing.append("eventTime must not be null")
    if not event.get("producer"):
        missing.append("producer must not be null")
    kind = _kind(event)
    if kind is None:
        missing.append("run and job must not be null")
    if kind == "run":
        run = event.get("run")
        if not isinstance(run, dict) or not run.get("runId"):
            missing.append("run.runId must not be null")
        else:
            try:
                uuid.UUID(str(run["runId"]))
            except ValueError:
                missing.append("run.runId must be a UUID")
    if kind in ("run", "job"):
        job = event.get("job")
        if not isinstance(job, dict) or not job.get("namespace"):
            missing.append("job.namespace must not be null")
        if not isinstance(job, dict) or not job.get("name"):
            missing.append("job.name must not be null")
    if kind == "dataset":
        missing.extend(_dataset_problems("dataset", event.get("dataset")))
    for side in ("inputs", "outputs"):
        datasets = event.get(side)
        if datasets is None:
            continue
        if not isinstance(datasets, list):
            missing.append(f"{side} must be a list")
            continue
        for i, dataset in enumerate(datasets):
            missing.extend(_dataset_problems(f"{side}[{i}]", dataset))
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent") if kind == "run" else None
    if isinstance(parent, dict):
        if not (parent.get("run") or {}).get("runId"):
            missing.append("run.facets.parent.run.runId must not be null")
        job_ref = parent.get("job") or {}
        if not job_ref.get("namespace") or not job_ref.get("name"):
            missing.append("run.facets.parent.job.namespace/name must not be null")
    if missing:
        raise LineageRejected(422, "; ".join(missing))
    # 2. deserialisation and model checks (400)
    try:
        _parse_event_time(event["eventTime"])
    except ValueError as exc:
        raise LineageRejected(400, f"Unable to process JSON: {exc}") from None
    if kind == "run" and event.get("eventType") is not None and event["eventType"] not in EVENT_TYPES:
        raise LineageRejected(400, f"Unable to process JSON: unknown eventType {event['eventType']!r}")
    namespaces = []
    if kind in ("run", "job"):
        namespaces.append(("job.namespace", event["job"]["namespace"]))
    if kind == "dataset":
        namespaces.append(("dataset.namespace", event["dataset"]["namespace"]))
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            namespaces.append((f"{side}[{i}].namespace", dataset["namespace"]))
    for where, namespace in namespaces:
        if not NAMESPACE_RE.match(str(namespace)):
            raise LineageRejected(
                400, f"{where}: namespace {namespace!r} must match {NAMESPACE_RE.pattern} (max 1024 chars)"
            )


def _kind(event: dict[str, Any]) -> str | None:
    if "run" in event:
        return "run"
    if "dataset" in event:
        return "dataset"
    if "job" in event:
        return "job"
    return None


def _dataset_problems(where: str, dataset: Any) -> list[str]:
    if not isinstance(dataset, dict):
        return [f"{where} must be an object"]
    problems = []
    if not dataset.get("namespace"):
        problems.append(f"{where}.namespace must not be null")
    if not str(dataset.get("name") or "").strip():
        problems.append(f"{where}.name must not be blank")
    return problems


# ---------------------------------------------------------------------------------------------- store
class _Store:
    """Marquez's model, reduced: namespaces, sources, jobs, runs, datasets and the raw events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.datasets: dict[tuple[str, str], dict[str, Any]] = {}

    # -- writes
    def _namespace(self, name: str) -> None:
        now = _now()
        entry = self.namespaces.setdefault(
            name,
            {"name": name, "createdAt": now, "updatedAt": now, "ownerName": "anonymous", "description": None},
        )
        entry["updatedAt"] = now

    def _dataset(self, dataset: dict[str, Any], event_time: str, *, written: bool) -> tuple[str, str]:
        key = _ds_key(dataset)
        self._namespace(key[0])
        now = _now()
        entry = self.datasets.get(key)
        if entry is None:
            entry = {
                "id": {"namespace": key[0], "name": key[1]},
                "type": "DB_TABLE",  # Marquez's type for every OpenLineage dataset
                "name": key[1],
                "physicalName": key[1],
                "createdAt": now,
                "updatedAt": now,
                "namespace": key[0],
                "sourceName": "default",
                "fields": [],
                "tags": [],
                "lastModifiedAt": None,
                "lastLifecycleState": None,
                "description": None,
                "facets": {},
                "currentVersion": str(uuid.uuid4()),
                "deleted": False,
            }
            self.datasets[key] = entry
        entry["updatedAt"] = now
        facets = dataset.get("facets") or {}
        entry["facets"].update({k: v for k, v in facets.items() if isinstance(v, dict)})
        source = facets.get("dataSource") or {}
        if source.get("name"):
            entry["sourceName"] = source["name"]
            self.sources[source["name"]] = {
                "type": "DB_TABLE",
                "name": source["name"],
                "createdAt": self.sources.get(source["name"], {}).get("createdAt", now),
                "updatedAt": now,
                "connectionUrl": source.get("uri"),
                "description": None,
            }
        schema = facets.get("schema") or {}
        if isinstance(schema.get("fields"), list):
            entry["fields"] = [
                {
                    "name": f.get("name"),
                    "type": f.get("type"),
                    "tags": [],
                    "description": f.get("description"),
                }
                for f in schema["fields"]
                if isinstance(f, dict)
            ]
        documentation = facets.get("documentation") or {}
        if documentation.get("description"):
            entry["description"] = documentation["description"]
        lifecycle = facets.get("lifecycleStateChange") or {}
        if lifecycle.get("lifecycleStateChange"):
            entry["lastLifecycleState"] = lifecycle["lifecycleStateChange"]
        if written:
            entry["lastModifiedAt"] = event_time
            entry["currentVersion"] = str(uuid.uuid4())
        return key

    def _job(self, job: dict[str, Any]) -> dict[str, Any]:
        key = (str(job["namespace"]), str(job["name"]))
        self._namespace(key[0])
        now = _now()
        entry = self.jobs.get(key)
        if entry is None:
            entry = {
                "id": {"namespace": key[0], "name": key[1]},
                "type": "BATCH",
                "name": key[1],
                "simpleName": key[1].rsplit(".", 1)[-1],
                "parentJobName": None,
                "parentJobUuid": None,
                "createdAt": now,
                "updatedAt": now,
                "namespace": key[0],
                "inputs": [],
                "outputs": [],
                "location": None,
                "description": None,
                "latestRun": None,
                "latestRuns": [],
                "facets": {},
                "currentVersion": str(uuid.uuid4()),
                "_runs": [],
            }
            self.jobs[key] = entry
        entry["updatedAt"] = now
        facets = job.get("facets") or {}
        entry["facets"].update({k: v for k, v in facets.items() if isinstance(v, dict)})
        location = (facets.get("sourceCodeLocation") or {}).get("url")
        if location:
            entry["location"] = location
        description = (facets.get("documentation") or {}).get("description")
        if description:
            entry["description"] = description
        job_type = (facets.get("jobType") or {}).get("processingType")
        if job_type == "STREAMING":
            entry["type"] = "STREAM"
        return entry

    def ingest(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        kind = _kind(event)
        event_time = str(event["eventTime"])
        if kind == "dataset":
            self._dataset(event["dataset"], event_time, written=False)
            return
        job = self._job(event["job"])
        inputs = [self._dataset(d, event_time, written=False) for d in event.get("inputs") or []]
        complete = event.get("eventType") == "COMPLETE"
        outputs = [self._dataset(d, event_time, written=complete) for d in event.get("outputs") or []]
        if kind == "job":
            job["inputs"] = [{"namespace": ns, "name": n} for ns, n in inputs]
            job["outputs"] = [{"namespace": ns, "name": n} for ns, n in outputs]
            return
        self._run(event, job, inputs, outputs, event_time)

    def _run(
        self,
        event: dict[str, Any],
        job: dict[str, Any],
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
        event_time: str,
    ) -> None:
        run_id = str(event["run"]["runId"])
        now = _now()
        run = self.runs.get(run_id)
        if run is None:
            run = {
                "id": run_id,
                "createdAt": now,
                "updatedAt": now,
                "nominalStartTime": None,
                "nominalEndTime": None,
                "state": "NEW",
                "startedAt": None,
                "endedAt": None,
                "durationMs": None,
                "args": {},
                "jobVersion": {
                    "namespace": job["namespace"],
                    "name": job["name"],
                    "version": job["currentVersion"],
                },
                "inputDatasetVersions": [],
                "outputDatasetVersions": [],
                "context": {},
                "facets": {},
                "_jobFacets": {},
                "_job": (job["namespace"], job["name"]),
                "_inputs": [],
                "_outputs": [],
            }
            self.runs[run_id] = run
            job["_runs"].append(run_id)
        run["updatedAt"] = now
        event_type = event.get("eventType") or "OTHER"
        state = RUN_STATES.get(event_type)
        if state == "RUNNING":
            if run["state"] not in TERMINAL:
                run["state"] = "RUNNING"
            if event_type == "START" or run["startedAt"] is None:
                run["startedAt"] = event_time
        elif state in TERMINAL:
            run["state"] = state
            run["endedAt"] = event_time
            if run["startedAt"] is None:
                run["startedAt"] = event_time
        elif run["state"] == "NEW":
            run["state"] = "RUNNING"
        if run["startedAt"] and run["endedAt"]:
            delta = _parse_event_time(run["endedAt"]) - _parse_event_time(run["startedAt"])
            run["durationMs"] = max(int(delta.total_seconds() * 1000), 0)
        facets = event["run"].get("facets") or {}
        run["facets"].update({k: v for k, v in facets.items() if isinstance(v, dict)})
        run["_jobFacets"].update(
            {k: v for k, v in (event["job"].get("facets") or {}).items() if isinstance(v, dict)}
        )
        nominal = facets.get("nominalTime") or {}
        run["nominalStartTime"] = nominal.get("nominalStartTime", run["nominalStartTime"])
        run["nominalEndTime"] = nominal.get("nominalEndTime", run["nominalEndTime"])
        parent_job = (facets.get("parent") or {}).get("job") or {}
        if parent_job.get("name"):
            job["parentJobName"] = parent_job["name"]
        for key in inputs:
            if key not in run["_inputs"]:
                run["_inputs"].append(key)
        for key in outputs:
            if key not in run["_outputs"]:
                run["_outputs"].append(key)
        run["inputDatasetVersions"] = [self._version_ref(k) for k in run["_inputs"]]
        run["outputDatasetVersions"] = [self._version_ref(k) for k in run["_outputs"]]
        # the job's current version: the datasets of its most recently updated run
        job["inputs"] = [{"namespace": ns, "name": n} for ns, n in run["_inputs"]]
        job["outputs"] = [{"namespace": ns, "name": n} for ns, n in run["_outputs"]]
        job["_latestRunId"] = run_id

    def _version_ref(self, key: tuple[str, str]) -> dict[str, Any]:
        return {
            "datasetVersionId": {
                "namespace": key[0],
                "name": key[1],
                "version": self.datasets[key]["currentVersion"],
            },
            "facets": {},
        }

    # -- reads
    def run_view(self, run_id: str) -> dict[str, Any] | None:
        run = self.runs.get(run_id)
        if run is None:
            return None
        return {k: v for k, v in run.items() if not k.startswith("_")}

    def job_view(self, key: tuple[str, str]) -> dict[str, Any] | None:
        job = self.jobs.get(key)
        if job is None:
            return None
        view = {k: v for k, v in job.items() if not k.startswith("_")}
        latest = job.get("_latestRunId")
        view["latestRun"] = self.run_view(latest) if latest else None
        view["latestRuns"] = [self.run_view(r) for r in reversed(job["_runs"][-10:])]
        return view

    def dataset_view(self, key: tuple[str, str]) -> dict[str, Any] | None:
        dataset = self.datasets.get(key)
        return dict(dataset) if dataset is not None else None

    def lineage(self, node_id: str, depth: int = 20) -> dict[str, Any]:
        start = self._resolve_node(node_id)
        if start is None:
            raise LineageRejected(404, f"node {node_id!r} not found")
        kind, key = start
        producers: dict[tuple[str, str], set[tuple[str, str]]] = {}
        consumers: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for job_key, job in self.jobs.items():
            for d in job["inputs"]:
                consumers.setdefault(_ds_key(d), set()).add(job_key)
            for d in job["outputs"]:
                producers.setdefault(_ds_key(d), set()).add(job_key)

        frontier = {key} if kind == "job" else producers.get(key, set()) | consumers.get(key, set())
        jobs: set[tuple[str, str]] = set(frontier)
        for _ in range(max(int(depth), 0)):
            following: set[tuple[str, str]] = set()
            for job_key in frontier:
                job = self.jobs[job_key]
                for d in job["outputs"]:
                    following |= consumers.get(_ds_key(d), set())
                for d in job["inputs"]:
                    following |= producers.get(_ds_key(d), set())
            frontier = following - jobs
            if not frontier:
                break
            jobs |= frontier

        datasets: set[tuple[str, str]] = {key} if kind == "dataset" else set()
        edges: list[tuple[str, str]] = []
        for job_key in sorted(jobs):
            job = self.jobs[job_key]
            job_node = f"job:{job_key[0]}:{job_key[1]}"
            for d in job["inputs"]:
                datasets.add(_ds_key(d))
                edges.append((f"dataset:{d['namespace']}:{d['name']}", job_node))
            for d in job["outputs"]:
                datasets.add(_ds_key(d))
                edges.append((job_node, f"dataset:{d['namespace']}:{d['name']}"))

        graph = []
        for job_key in sorted(jobs):
            graph.append(self._node("JOB", f"job:{job_key[0]}:{job_key[1]}", self.job_view(job_key), edges))
        for ds_key in sorted(datasets):
            graph.append(
                self._node("DATASET", f"dataset:{ds_key[0]}:{ds_key[1]}", self.dataset_view(ds_key), edges)
            )
        return {"graph": graph}

    @staticmethod
    def _node(node_type: str, node_id: str, data: Any, edges: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "id": node_id,
            "type": node_type,
            "data": data,
            "inEdges": [{"origin": o, "destination": d} for o, d in edges if d == node_id],
            "outEdges": [{"origin": o, "destination": d} for o, d in edges if o == node_id],
        }

    def _resolve_node(self, node_id: str) -> tuple[str, tuple[str, str]] | None:
        node_type, _, rest = node_id.partition(":")
        table: dict[tuple[str, str], Any] | None = {"job": self.jobs, "dataset": self.datasets}.get(node_type)
        if table is None:
            return None
        for key in table:  # namespaces contain ':' (s3://bucket), so match against the known ids
            if f"{key[0]}:{key[1]}" == rest:
                return node_type, key
        return None


# ---------------------------------------------------------------------------------------------- HTTP
class _Handler(BaseHTTPRequestHandler):
    server_version = "MarquezSink/1.0"
    sink: MarquezSink  # set on the subclass built per server

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr access log
        return

    def _send(self, status: int, body: Any = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"code": status, "message": message})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path != "/api/v1/lineage":
            self._error(404, f"HTTP 404 Not Found: {path}")
            return
        status, message = self.sink._receive(raw, self.headers.get("Content-Encoding"), dict(self.headers))
        if status == 201:
            self._send(201)
        else:
            self._error(status, message)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [unquote(s) for s in parts.path.strip("/").split("/")] if parts.path.strip("/") else []
        try:
            status, body = self.sink._get(segments, query)
        except LineageRejected as exc:
            self._error(exc.status, exc.message)
            return
        self._send(status, body)


class MarquezSink:
    """Marquez-compatible lineage sink. ``with MarquezSink(port=0) as sink: ...``"""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, validate: bool = False,
                 spec_dir: str | os.PathLike[str] | None = None) -> None:  # fmt: skip
        self.host = host
        self.port = port
        self.validate = validate
        self.spec_dir = spec_dir
        self._store = _Store()
        self._lock = threading.Condition()
        self._fail_status: int | None = None
        self._rejected: list[dict[str, Any]] = []
        self._validation: list[tuple[int, list[str]]] = []
        self._headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> MarquezSink:
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"sink": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="marquez-sink",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down (clients then get 'connection refused'). Stored data stays readable."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MarquezSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def transport_config(self) -> dict[str, Any]:
        """The OpenLineage ``http`` transport pointing at this sink (``AIRFLOW__OPENLINEAGE__TRANSPORT``)."""
        return {"type": "http", "url": self.url, "endpoint": "api/v1/lineage"}

    # -- fault injection
    def fail_with(self, status: int | None) -> None:
        """Answer every following POST with ``status`` (e.g. 500, 503); ``None`` restores normal behaviour."""
        with self._lock:
            self._fail_status = status

    def reset(self) -> None:
        with self._lock:
            self._store = _Store()
            self._rejected.clear()
            self._validation.clear()
            self._headers.clear()

    # -- ingestion (also usable without HTTP)
    def post(self, event: dict[str, Any]) -> int:
        """Ingest ``event`` as if POSTed; returns the HTTP status Marquez would answer."""
        return self._receive(json.dumps(event).encode(), None, {})[0]

    def _receive(self, raw: bytes, encoding: str | None, headers: dict[str, str]) -> tuple[int, str]:
        with self._lock:
            self._headers.append(headers)
            try:
                if encoding and encoding.lower() == "gzip":
                    raw = gzip.decompress(raw)
                try:
                    event = json.loads(raw.decode() or "null")
                except ValueError as exc:
                    raise LineageRejected(400, f"Unable to process JSON: {exc}") from None
                if self._fail_status is not None:
                    raise LineageRejected(self._fail_status, "sink told to fail")
                check_event(event)
            except LineageRejected as exc:
                self._rejected.append({"status": exc.status, "message": exc.message, "body": raw[:100_000]})
                return exc.status, exc.message
            self._store.ingest(event)
            if self.validate:
                try:
                    errors = validate_event(event, spec_dir=self.spec_dir)
                except Exception as exc:  # e.g. spec schemas not found: report it, never break the POST
                    errors = [f"validation could not run: {type(exc).__name__}: {exc}"]
                if errors:
                    self._validation.append((len(self._store.events) - 1, errors))
            self._lock.notify_all()
            return 201, ""

    # -- Python reads
    def events(self, *, event_type: str | None = None, job_name: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                e
                for e in self._store.events
                if (event_type is None or e.get("eventType") == event_type)
                and (job_name is None or (e.get("job") or {}).get("name") == job_name)
            ]

    def rejected(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._rejected)

    def request_headers(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._headers)

    def validation_errors(self) -> list[tuple[int, list[str]]]:
        """``(index in events(), errors)`` for each accepted event that failed offline validation."""
        with self._lock:
            return list(self._validation)

    def wait_for(
        self, predicate: Callable[[list[dict[str, Any]]], bool] | int, timeout: float = 30.0
    ) -> bool:
        """Wait until ``predicate(events)`` holds (or ``len(events) >= n`` for an int)."""
        check = (lambda evs: len(evs) >= predicate) if isinstance(predicate, int) else predicate
        deadline = time.monotonic() + timeout
        with self._lock:
            while not check(list(self._store.events)):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
            return True

    def namespaces(self) -> list[str]:
        with self._lock:
            return sorted(self._store.namespaces)

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._store.job_view((namespace, name))

    def dataset(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._store.dataset_view((namespace, name))

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._store.run_view(run_id)

    def run_facets(self, run_id: str, type: str = "run") -> dict[str, Any]:
        with self._lock:
            run = self._store.runs.get(run_id)
            if run is None:
                raise KeyError(run_id)
            return dict(run["facets"] if type == "run" else run["_jobFacets"])

    def lineage(self, node_id: str, depth: int = 20) -> dict[str, Any]:
        with self._lock:
            return self._store.lineage(node_id, depth)

    # -- HTTP reads
    def _get(self, seg: list[str], query: dict[str, str]) -> tuple[int, Any]:
        if seg[:2] != ["api", "v1"]:
            raise LineageRejected(404, "HTTP 404 Not Found")
        seg = seg[2:]
        limit = int(query.get("limit", 100))
        offset = int(query.get("offset", 0))
        with self._lock:
            store = self._store
            if seg == ["namespaces"]:
                items = [store.namespaces[n] for n in sorted(store.namespaces)]
                return 200, {"namespaces": items[offset : offset + limit]}
            if seg == ["sources"]:
                return 200, {"sources": [store.sources[n] for n in sorted(store.sources)]}
            if seg == ["events", "lineage"]:
                events = sorted(store.events, key=lambda e: str(e.get("eventTime")))
                if query.get("sortDirection", "desc").lower() != "asc":
                    events.reverse()
                return 200, {"events": events[offset : offset + limit], "totalCount": len(events)}
            if seg == ["lineage"]:
                node_id = query.get("nodeId")
                if not node_id:
                    raise LineageRejected(400, "query param nodeId must not be null")
                return 200, store.lineage(node_id, int(query.get("depth", 20)))
            if len(seg) >= 3 and seg[:2] == ["jobs", "runs"]:
                run = store.run_view(seg[2])
                if run is None:
                    raise LineageRejected(404, f"Run '{seg[2]}' not found")
                if len(seg) == 3:
                    return 200, run
                if seg[3:] == ["facets"]:
                    facet_type = query.get("type")
                    if facet_type not in ("run", "job"):
                        raise LineageRejected(400, "query param type must be 'run' or 'job'")
                    raw = store.runs[seg[2]]
                    facets = raw["facets"] if facet_type == "run" else raw["_jobFacets"]
                    return 200, {"runId": seg[2], "facets": facets}
            if len(seg) >= 2 and seg[0] == "namespaces":
                return self._get_namespaced(store, seg[1], seg[2:], limit, offset)
        raise LineageRejected(404, "HTTP 404 Not Found")

    @staticmethod
    def _get_namespaced(store: _Store, ns: str, seg: list[str], limit: int, offset: int) -> tuple[int, Any]:
        if ns not in store.namespaces:
            raise LineageRejected(404, f"Namespace '{ns}' not found")
        if not seg:
            return 200, store.namespaces[ns]
        if seg == ["jobs"]:
            keys = sorted(k for k in store.jobs if k[0] == ns)
            jobs = [store.job_view(k) for k in keys]
            return 200, {"jobs": jobs[offset : offset + limit], "totalCount": len(jobs)}
        if seg[0] == "jobs" and len(seg) in (2, 3):
            job = store.job_view((ns, seg[1]))
            if job is None:
                raise LineageRejected(404, f"Job '{seg[1]}' not found")
            if len(seg) == 2:
                return 200, job
            if seg[2] == "runs":
                runs = [store.run_view(r) for r in reversed(store.jobs[(ns, seg[1])]["_runs"])]
                return 200, {"runs": runs[offset : offset + limit]}
        if seg == ["datasets"]:
            keys = sorted(k for k in store.datasets if k[0] == ns)
            datasets = [store.dataset_view(k) for k in keys]
            return 200, {"datasets": datasets[offset : offset + limit], "totalCount": len(datasets)}
        if seg[0] == "datasets" and len(seg) >= 2:
            name = "/".join(seg[1:])  # lenient: also accept names whose '/' were not URL-encoded
            dataset = store.dataset_view((ns, name))
            if dataset is None:
                raise LineageRejected(404, f"Dataset '{name}' not found")
            return 200, dataset
        raise LineageRejected(404, "HTTP 404 Not Found")


# ---------------------------------------------------------------------------------------------- validation
def find_spec_dir(spec_dir: str | os.PathLike[str] | None = None) -> Path:
    """The OpenLineage spec copy: ``spec_dir``, ``$OPENLINEAGE_SPEC_DIR``, or ``../shared/openlineage-spec``
    next to the repository (the current directory or the package's checkout)."""
    candidates: list[Path] = []
    if spec_dir:
        candidates.append(Path(spec_dir))
    if os.environ.get("OPENLINEAGE_SPEC_DIR"):
        candidates.append(Path(os.environ["OPENLINEAGE_SPEC_DIR"]))
    repo = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), repo):
        candidates.append(base.parent / "shared" / "openlineage-spec")
        candidates.append(base / "shared" / "openlineage-spec")
    for candidate in candidates:
        if (candidate / "OpenLineage.json").is_file():
            return candidate.resolve()
    raise FileNotFoundError(
        "OpenLineage spec schemas not found: set OPENLINEAGE_SPEC_DIR or put them in ../shared/openlineage-spec"
    )


@cache
def _registry(spec_dir: str) -> tuple[Any, str]:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    from ovhcloud_ai_provider.lineage.facets import SCHEMA_DIR

    spec = Path(spec_dir)
    files = [
        spec / "OpenLineage.json",
        *sorted((spec / "facets").glob("*.json")),
        *sorted(SCHEMA_DIR.glob("*.json")),
    ]
    schemas = [json.loads(p.read_text()) for p in files]
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012)) for s in schemas
    )
    return registry, schemas[0]["$id"]


def _facet_locations(event: dict[str, Any]) -> list[tuple[str, str, Any]]:
    found: list[tuple[str, str, Any]] = []

    def add(where: str, facets: Any) -> None:
        if isinstance(facets, dict):
            found.extend((where, key, value) for key, value in facets.items())

    add("run.facets", (event.get("run") or {}).get("facets"))
    add("job.facets", (event.get("job") or {}).get("facets"))
    if isinstance(event.get("dataset"), dict):
        add("dataset.facets", event["dataset"].get("facets"))
    for side, extra in (("inputs", "inputFacets"), ("outputs", "outputFacets")):
        for i, dataset in enumerate(event.get(side) or []):
            if isinstance(dataset, dict):
                add(f"{side}[{i}].facets", dataset.get("facets"))
                add(f"{side}[{i}].{extra}", dataset.get(extra))
    return found


def validate_event(
    event: dict[str, Any], *, spec_dir: str | os.PathLike[str] | None = None, marquez: bool = True
) -> list[str]:
    """Offline validation of an OpenLineage event. Returns the problems found (empty list = valid).

    * the event against the core schema (``RunEvent``, ``DatasetEvent`` or ``JobEvent``);
    * each facet against the schema its ``_schemaURL`` points to (spec facets + this provider's facets); a facet
      whose ``_schemaURL`` is not known is an error, except the Airflow OpenLineage provider's own facets
      (``_producer`` starting with :data:`AIRFLOW_PRODUCER_PREFIX``) whose schemas are not in the spec;
    * the facet's key must be the one its schema declares (``ovhAi_llmUsage`` for ``OvhAiLlmUsageRunFacet``);
    * with ``marquez=True``, Marquez's acceptance rules (namespace pattern, required fields).
    """
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing.exceptions import Unresolvable

    registry, core_id = _registry(str(find_spec_dir(spec_dir)))
    checker = FormatChecker()
    problems: list[str] = []

    def check(instance: Any, ref: str, where: str) -> None:
        validator = Draft202012Validator({"$ref": ref}, registry=registry, format_checker=checker)
        for error in validator.iter_errors(instance):
            problems.append(f"{where}: {error.message} at {error.json_path}")

    kind = {"run": "RunEvent", "dataset": "DatasetEvent", "job": "JobEvent"}.get(
        _kind(event) or "", "RunEvent"
    )
    check(event, f"{core_id}#/$defs/{kind}", "event")
    for where, key, facet in _facet_locations(event):
        label = f"{where}.{key}"
        if not isinstance(facet, dict):
            problems.append(f"{label}: facet must be an object")
            continue
        schema_url = facet.get("_schemaURL")
        producer = str(facet.get("_producer") or "")
        if not schema_url:
            problems.append(f"{label}: _schemaURL missing")
            continue
        resource_id, _, pointer = str(schema_url).partition("#")
        try:
            registry.resolver().lookup(str(schema_url))
            document = registry.contents(resource_id)
        except (Unresolvable, LookupError) as exc:
            if producer.startswith(AIRFLOW_PRODUCER_PREFIX):
                continue
            problems.append(f"{label}: unknown _schemaURL {schema_url} ({type(exc).__name__})")
            continue
        check(facet, str(schema_url), label)
        declared = (document.get("properties") or {}) if isinstance(document, dict) else {}
        if declared and key not in declared and not pointer.endswith("/BaseFacet"):
            problems.append(
                f"{label}: key {key!r} is not the one its schema declares ({', '.join(declared)})"
            )
    if marquez:
        try:
            check_event(event)
        except LineageRejected as exc:
            problems.append(f"marquez {exc.status}: {exc.message}")
    return problems
