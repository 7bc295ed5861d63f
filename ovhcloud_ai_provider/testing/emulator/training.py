"""AI Training API routes (regional API, paths under ``/v1``; ovh-api.md section 1).

Handlers take the raw ``Request`` and validate by hand: the real API answers 400 ``{"message"}`` for bad
input, never FastAPI's 422, and the route templates (``/v1/job/{id}``) double as accounting keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .auth import bearer_token
from .catalog import FLAVORS
from .errors import TrainingAPIError
from .jobs import STATES
from .jobspec import SpecError
from .jobstore import JobNotFound, JobStateError
from .state import EmulatorState

router = APIRouter()

MAX_PAGE_SIZE = 1000  # [I]
DEFAULT_PAGE_SIZE = 100  # [I]


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _auth(request: Request) -> str:
    """Return the caller's token or raise 401 (missing or unknown token)."""
    token = bearer_token(request)
    if token is None:
        raise TrainingAPIError(401, "Not authenticated: missing 'Authorization: Bearer <token>' header")
    if token not in _state(request).config.training_tokens:
        raise TrainingAPIError(401, "Not authenticated: invalid token")
    return token


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise TrainingAPIError(400, "A JSON request body is required")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrainingAPIError(400, f"Invalid JSON body: {exc}") from None


def _int_param(params: QueryParams, name: str, default: int | None, *, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TrainingAPIError(400, f"query parameter '{name}' must be an integer") from None
    if value < minimum:
        raise TrainingAPIError(400, f"query parameter '{name}' must be >= {minimum}")
    return value


def _float_param(params: QueryParams, name: str) -> float | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise TrainingAPIError(400, f"query parameter '{name}' must be a unix timestamp") from None


def _bool_param(params: QueryParams, name: str) -> bool:
    raw = (params.get(name) or "false").lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise TrainingAPIError(400, f"query parameter '{name}' must be true or false")


def _job_id(request: Request) -> str:
    job_id: str = request.path_params["id"]
    return job_id


def _not_found(job_id: str) -> TrainingAPIError:
    return TrainingAPIError(404, f"Job {job_id} not found")


def parse_label_selector(selector: str) -> list[tuple[str, str, str | None]]:
    """``a=b,c!=d,e`` -> [(key, op, value)]: comma-joined Kubernetes-style terms, all must match."""
    terms: list[tuple[str, str, str | None]] = []
    for part in selector.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            key, value = part.split("!=", 1)
            terms.append((key.strip(), "!=", value.strip()))
        elif "=" in part:
            key, value = part.split("==", 1) if "==" in part else part.split("=", 1)
            terms.append((key.strip(), "=", value.strip()))
        else:
            terms.append((part, "exists", None))
    if any(not key for key, _, _ in terms):
        raise TrainingAPIError(400, f"invalid labelSelector {selector!r}")
    return terms


def _labels_match(labels: dict[str, str], terms: list[tuple[str, str, str | None]]) -> bool:
    for key, op, value in terms:
        if op == "exists" and key not in labels:
            return False
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


def _lookup(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@router.post("/v1/job")
async def create_job(request: Request) -> Response:
    """Submit a job: 200 + Job, first state QUEUED (ovh-api.md 1.3, not 201)."""
    token = _auth(request)
    body = await _json_body(request)
    state = _state(request)
    try:
        job = state.jobs.create(body, token)
    except SpecError as exc:
        raise TrainingAPIError(400, str(exc)) from None
    # The answer reflects the job at submission time: always QUEUED, whatever the time scale.
    return JSONResponse(job.to_api(job.created_at, state.config.region))


@router.get("/v1/job")
async def list_jobs(request: Request) -> Response:
    """Paginated, filtered job list: ``{"items", "metadata": {currentPage, pageCount, total, links}}``."""
    _auth(request)
    params = request.query_params
    page = _int_param(params, "page", 1, minimum=1) or 1
    size = _int_param(params, "size", DEFAULT_PAGE_SIZE, minimum=1) or DEFAULT_PAGE_SIZE
    if size > MAX_PAGE_SIZE:
        raise TrainingAPIError(400, f"query parameter 'size' must be <= {MAX_PAGE_SIZE}")
    order = (params.get("order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise TrainingAPIError(400, "query parameter 'order' must be asc or desc")
    sort = params.get("sort") or "createdAt"
    states = [s.strip() for raw in params.getlist("statusState") for s in raw.split(",") if s.strip()]
    unknown = sorted(set(states) - set(STATES))
    if unknown:
        raise TrainingAPIError(400, f"unknown statusState value(s): {', '.join(unknown)}")
    selector = parse_label_selector(params.get("labelSelector") or "")
    after = _float_param(params, "updatedAfter")
    before = _float_param(params, "updatedBefore")
    user_name = params.get("userName")

    rows = _state(request).jobs.views()
    if after is not None:
        rows = [(t, j) for t, j in rows if t > after]
    if before is not None:
        rows = [(t, j) for t, j in rows if t < before]
    items = [j for _, j in rows]
    if states:
        items = [j for j in items if j["status"]["state"] in states]
    if selector:
        items = [j for j in items if _labels_match(j["spec"]["labels"], selector)]
    if user_name:
        items = [j for j in items if j["user"] == user_name]

    def sort_key(job: dict[str, Any]) -> tuple[bool, Any]:
        value = _lookup(job, sort)
        return (value is not None, value if isinstance(value, (int, float)) else str(value))

    items.sort(key=sort_key, reverse=order == "desc")
    total = len(items)
    page_count = math.ceil(total / size)
    page_items = items[(page - 1) * size : page * size]
    next_link = str(request.url.include_query_params(page=page + 1)) if page < page_count else None
    return JSONResponse(
        {
            "items": page_items,
            "metadata": {
                "currentPage": page,
                "pageCount": page_count,
                "total": total,
                "links": {"next": next_link},
            },
        }
    )


@router.get("/v1/job/{id}")
async def get_job(request: Request) -> Response:
    """One job (404 ``{"message"}`` if unknown)."""
    _auth(request)
    job_id = _job_id(request)
    try:
        return JSONResponse(_state(request).jobs.view(job_id))
    except JobNotFound:
        raise _not_found(job_id) from None


@router.put("/v1/job/{id}")
async def update_job(request: Request) -> Response:
    """Change ``timeout``/``timeoutAutoRestart`` (204)."""
    _auth(request)
    job_id = _job_id(request)
    body = await _json_body(request)
    if not isinstance(body, dict) or set(body) - {"timeout", "timeoutAutoRestart"}:
        raise TrainingAPIError(400, "body must be an object with only 'timeout' and/or 'timeoutAutoRestart'")
    timeout = body.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0):
        raise TrainingAPIError(400, "timeout must be an integer >= 0")
    auto = body.get("timeoutAutoRestart")
    if auto is not None and not isinstance(auto, bool):
        raise TrainingAPIError(400, "timeoutAutoRestart must be a boolean")
    try:
        _state(request).jobs.update(job_id, {k: v for k, v in body.items() if v is not None})
    except JobNotFound:
        raise _not_found(job_id) from None
    return Response(status_code=204)


def _job_action(request: Request, action: Callable[[str], object], refused: tuple[type[Exception], ...]) -> Response:
    """Run a state-changing action on the path's job: 204, 404 for an unknown job, 400 when refused."""
    _auth(request)
    job_id = _job_id(request)
    try:
        action(job_id)
    except JobNotFound:
        raise _not_found(job_id) from None
    except refused as exc:
        raise TrainingAPIError(400, str(exc)) from None
    return Response(status_code=204)


@router.put("/v1/job/{id}/kill")
async def kill_job(request: Request) -> Response:
    """Stop a job: 204, then INTERRUPTING -> FINALIZING -> INTERRUPTED."""
    # Undocumented: the SDK lists 400 for /kill but not when; a kill on a terminal job answers 400 here.
    return _job_action(request, _state(request).jobs.kill, (JobStateError,))


@router.put("/v1/job/{id}/start")
async def start_job(request: Request) -> Response:
    """Restart a DONE or INTERRUPTED job back to QUEUED (204); 400 in any other state."""
    return _job_action(request, _state(request).jobs.start, (JobStateError, SpecError))


@router.delete("/v1/job/{id}")
async def delete_job(request: Request) -> Response:
    """Permanently delete a job (204); a job not in a terminal state needs ``?force=true``."""
    def delete(job_id: str) -> None:
        _state(request).jobs.delete(job_id, force=_bool_param(request.query_params, "force"))

    return _job_action(request, delete, (JobStateError,))


@router.put("/v1/job/{id}/label")
async def label_job(request: Request) -> Response:
    """Set (``{name, value}``) or delete (``{name}``) one label (204)."""
    _auth(request)
    job_id = _job_id(request)
    body = await _json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        raise TrainingAPIError(400, "body must be an object with a non-empty 'name' (and optional 'value')")
    value = body.get("value")
    if value is not None and not isinstance(value, str):
        raise TrainingAPIError(400, "label value must be a string")
    try:
        _state(request).jobs.set_label(job_id, body["name"], value)
    except JobNotFound:
        raise _not_found(job_id) from None
    except SpecError as exc:
        raise TrainingAPIError(400, str(exc)) from None
    return Response(status_code=204)


@router.get("/v1/job/{id}/log")
async def job_logs(request: Request) -> Response:
    """Plain-text log (``[ovh]`` status lines + container stdout); ``tail``, ``page``/``size``; ``follow`` ignored."""
    _auth(request)
    job_id = _job_id(request)
    params = request.query_params
    tail = _int_param(params, "tail", None, minimum=0)
    page = _int_param(params, "page", 1, minimum=1) or 1
    size = _int_param(params, "size", None, minimum=1)
    _bool_param(params, "follow")  # validated, then ignored: the emulator never streams logs
    try:
        lines = _state(request).jobs.logs(job_id)
    except JobNotFound:
        raise _not_found(job_id) from None
    if tail is not None:
        lines = lines[-tail:] if tail else []
    elif size is not None:
        lines = lines[(page - 1) * size : page * size]
    body = "".join(line + "\n" for line in lines)
    return PlainTextResponse(body, media_type="text/plain; charset=utf-8")


@router.get("/v1/me")
async def me(request: Request) -> Response:
    """Who the token belongs to (``GET /v1/me``), handy for connection tests."""
    from .jobs import user_for_token

    token = _auth(request)
    return JSONResponse(
        {
            "name": user_for_token(token),
            "tenant": "0123456789abcdef0123456789abcdef",
            "role": "ai_training_operator",
            "tokenKind": "app",
            "trustId": "fedcba9876543210fedcba9876543210",
            "quotas": {"resources": {"CPU": 12, "GPU": 4}, "storage": 10 * 1024**4},
        }
    )


@router.get("/v1/capabilities/flavor")
async def list_flavors(request: Request) -> Response:
    """Flavor list (ovh-api.md 1.8)."""
    _auth(request)
    return JSONResponse([f.to_api() for f in FLAVORS.values()])


@router.get("/v1/capabilities/flavor/{id}")
async def get_flavor(request: Request) -> Response:
    """One flavor, 404 if unknown."""
    _auth(request)
    flavor = FLAVORS.get(request.path_params["id"])
    if flavor is None:
        raise TrainingAPIError(404, f"Flavor {request.path_params['id']} not found")
    return JSONResponse(flavor.to_api())
