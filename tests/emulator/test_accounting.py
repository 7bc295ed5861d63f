"""Accounting: the ground truth tests assert on (requests by route template and model, tokens, jobs)."""

from __future__ import annotations

import uuid

import requests

from ovhcloud_ai_provider.testing.emulator import OVHEmulator

from .conftest import Api

CHAT = "Mistral-7B-Instruct-v0.3"
EMBED = "BGE-M3"
MESSAGES = [{"role": "user", "content": "one two three"}]


def test_empty_shape(emu: OVHEmulator) -> None:
    assert emu.accounting() == {
        "requests": {"total": 0, "by_route": {}, "by_model": {}},
        "tokens": {},
        "jobs": {"created": 0, "killed": 0, "deleted": 0, "started": 0, "by_final_state": {}, "by_state": {}},
    }


def test_requests_tokens_and_jobs_are_counted(emu: OVHEmulator, endpoints: Api, training: Api) -> None:
    emu.configure(rate_limit_per_minute=3)
    for _ in range(4):
        endpoints.post("/v1/chat/completions", json={"model": CHAT, "messages": MESSAGES})
    endpoints.post("/v1/chat/completions", json={"model": "nope", "messages": MESSAGES})
    endpoints.post("/v1/embeddings", json={"model": EMBED, "input": ["a b", "c"]})
    endpoints.get("/v1/models")
    Api(emu.url, "bad").get("/v1/models")

    a = training.create_job()
    b = training.create_job(labels={"emulator-run-seconds": "600"})
    training.get(f"/v1/job/{a['id']}")
    training.get(f"/v1/job/{b['id']}")
    training.get(f"/v1/job/{uuid.uuid4()}")
    training.put(f"/v1/job/{b['id']}/kill")
    emu.advance(5)
    training.get(f"/v1/job/{a['id']}/log", params={"tail": 5})
    training.get("/v1/job", params={"statusState": "DONE"})

    acc = emu.accounting()
    assert acc["requests"]["by_route"] == {
        "GET /v1/job": {"200": 1},
        "GET /v1/job/{id}": {"200": 2, "404": 1},
        "GET /v1/job/{id}/log": {"200": 1},
        "GET /v1/models": {"200": 1, "401": 1},
        "POST /v1/chat/completions": {"200": 3, "429": 1, "404": 1},
        "POST /v1/embeddings": {"200": 1},
        "POST /v1/job": {"200": 2},
        "PUT /v1/job/{id}/kill": {"204": 1},
    }
    assert acc["requests"]["total"] == 16
    assert acc["requests"]["by_model"] == {
        CHAT: {"200": 3, "429": 1},
        "nope": {"404": 1},
        EMBED: {"200": 1},
    }
    # Only successful answers count tokens: 3 chats x (3 words + 1 message) prompt, 6 reply words each.
    assert acc["tokens"] == {
        CHAT: {"prompt": 12, "completion": 18, "total": 30},
        EMBED: {"prompt": 3, "completion": 0, "total": 3},
    }
    assert acc["jobs"] == {
        "created": 2,
        "killed": 1,
        "deleted": 0,
        "started": 0,
        "by_final_state": {"DONE": 1, "INTERRUPTED": 1},
        "by_state": {"DONE": 1, "INTERRUPTED": 1},
    }


def test_by_state_is_live(emu: OVHEmulator, training: Api) -> None:
    emu.configure(time_scale=1.0)
    training.create_job(labels={"emulator-run-seconds": "100"})
    training.create_job(labels={"emulator-scenario": "long_queue"})
    emu.advance(1)
    assert emu.accounting()["jobs"]["by_state"] == {"QUEUED": 1, "RUNNING": 1}
    assert emu.accounting()["jobs"]["by_final_state"] == {}


def test_route_keys_never_contain_ids_and_unmatched_paths(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job()
    training.get(f"/v1/job/{job['id']}/logs")
    training.get("/v2/whatever")
    training.request("PATCH", f"/v1/job/{job['id']}")
    keys = emu.accounting()["requests"]["by_route"]
    assert not any(job["id"] in key for key in keys)
    assert keys["GET <unmatched>"] == {"404": 2}
    assert keys["PATCH /v1/job/{id}"] == {"405": 1}


def test_control_routes_are_not_counted(emu: OVHEmulator) -> None:
    for path in ("/_emulator/health", "/_emulator/accounting", "/_emulator/faults", "/_emulator/config"):
        assert requests.get(emu.url + path, timeout=5).status_code == 200
    assert emu.accounting()["requests"]["total"] == 0


def test_http_accounting_reset_advance_and_config(emu: OVHEmulator, endpoints: Api, training: Api) -> None:
    endpoints.get("/v1/models")
    job = training.create_job()
    remote = requests.get(emu.url + "/_emulator/accounting", timeout=5).json()
    assert remote == emu.accounting()
    assert requests.post(emu.url + "/_emulator/advance", json={"seconds": 60}, timeout=5).status_code == 200
    assert training.job(job["id"])["status"]["state"] == "DONE"
    assert requests.post(emu.url + "/_emulator/advance", json={"seconds": -1}, timeout=5).status_code == 400
    config = requests.post(emu.url + "/_emulator/config", json={"rate_limit_per_minute": 7}, timeout=5).json()
    assert config["rate_limit_per_minute"] == 7 and "endpoints_tokens" not in config
    assert requests.post(emu.url + "/_emulator/config", json={"colour": 1}, timeout=5).status_code == 400
    assert requests.post(emu.url + "/_emulator/config", json={"time_scale": 0}, timeout=5).status_code == 400
    assert requests.post(emu.url + "/_emulator/reset", timeout=5).json() == {"status": "reset"}
    assert emu.accounting()["requests"]["total"] == 0 and emu.jobs() == []
    assert emu.config.rate_limit_per_minute == 400


def test_request_log_keeps_concrete_paths_bodies_and_queries(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job(envVars=[{"name": "A", "value": "b"}])
    training.get("/v1/job", params={"labelSelector": "a=b"})
    emu.faults.fail_next(1, status=503)
    training.get(f"/v1/job/{job['id']}")
    log = emu.request_log()
    assert [r["route"] for r in log] == ["POST /v1/job", "GET /v1/job", "GET /v1/job/{id}"]
    assert log[0]["body"]["envVars"] == [{"name": "A", "value": "b"}] and log[0]["status"] == "200"
    assert log[1]["query"] == {"labelSelector": ["a=b"]}
    assert (
        log[2]["path"] == f"/v1/job/{job['id']}" and log[2]["fault"] == "error" and log[2]["status"] == "503"
    )
    assert all(len(r["request_id"]) == 32 for r in log)
    remote = requests.get(emu.url + "/_emulator/requests", timeout=5).json()["requests"]
    assert [r["request_id"] for r in remote] == [r["request_id"] for r in log]


def test_request_id_header_matches_log(emu: OVHEmulator, endpoints: Api) -> None:
    response = endpoints.get("/v1/models")
    assert emu.request_log()[-1]["request_id"] == response.headers["x-request-id"]


def test_accounting_is_thread_safe_under_concurrency(emu: OVHEmulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def call(i: int) -> int:
        with requests.Session() as s:
            r = s.post(
                emu.url + "/v1/chat/completions",
                json={"model": CHAT, "messages": MESSAGES},
                headers={"Authorization": "Bearer endpoints-token"},
                timeout=10,
            )
            return r.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(call, range(40)))
    assert codes == [200] * 40
    acc = emu.accounting()
    assert acc["requests"]["by_route"]["POST /v1/chat/completions"] == {"200": 40}
    assert acc["tokens"][CHAT] == {"prompt": 160, "completion": 240, "total": 400}
