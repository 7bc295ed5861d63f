"""Fault injection: latency, errors (count and seeded rate), dropped connections, malformed bodies."""

from __future__ import annotations

import http.client
import json
import time

import httpx
import pytest
import requests

from ovhcloud_ai_provider.testing.emulator import FaultRule, OVHEmulator

from .conftest import Api

CHAT = "Mistral-7B-Instruct-v0.3"
BODY = {"model": CHAT, "messages": [{"role": "user", "content": "hi"}]}


def test_latency_is_added(emu: OVHEmulator, endpoints: Api) -> None:
    rule = emu.faults.latency(0.6, path_prefix="/v1/models")
    start = time.monotonic()
    assert endpoints.get("/v1/models").status_code == 200
    assert time.monotonic() - start >= 0.6
    assert endpoints.post("/v1/chat/completions", json=BODY).status_code == 200  # out of scope
    assert rule.fired == 1  # the chat request was not delayed


def test_latency_makes_client_timeouts(emu: OVHEmulator, endpoints: Api) -> None:
    emu.faults.latency(1.0, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        endpoints.get("/v1/models", timeout=0.2)
    assert endpoints.get("/v1/models", timeout=2).status_code == 200


def test_fail_next_n_is_deterministic(emu: OVHEmulator, training: Api) -> None:
    rule = emu.faults.fail_next(2, status=503, path_prefix="/v1/job", method="GET")
    codes = [training.get("/v1/job").status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]
    assert rule.fired == 2 and rule.count == 0
    assert training.post("/v1/job", json={"image": "x"}).status_code == 200  # method out of scope
    assert emu.accounting()["requests"]["by_route"]["GET /v1/job"] == {"503": 2, "200": 2}


def test_gateway_errors_have_html_bodies(emu: OVHEmulator, endpoints: Api) -> None:
    emu.faults.fail_next(1, status=502)
    response = endpoints.get("/v1/models")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "<html><body>502 Bad Gateway</body></html>"
    assert response.headers["x-request-id"]


def test_json_error_bodies_follow_the_api_family(emu: OVHEmulator, endpoints: Api, training: Api) -> None:
    emu.faults.error(status=500, count=2)
    assert set(endpoints.get("/v1/models").json()["error"]) >= {"message", "type", "code"}
    assert set(training.get("/v1/job").json()) == {"message"}
    emu.faults.error(status=503, count=1, body="json")
    assert endpoints.get("/v1/models").json()["error"]["code"] == 503
    emu.faults.error(status=500, count=1, body="oops", content_type="text/plain")
    assert endpoints.get("/v1/models").text == "oops"


def test_injected_429_carries_headers(emu: OVHEmulator, endpoints: Api) -> None:
    emu.faults.fail_next(1, status=429, path_prefix="/v1/chat/completions")
    response = endpoints.post("/v1/chat/completions", json=BODY)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    emu.faults.fail_next(1, status=429, headers={"Retry-After": "0", "x-ratelimit-remaining-minute": "0"})
    response = endpoints.post("/v1/chat/completions", json=BODY)
    assert response.headers["Retry-After"] == "0" and response.headers["x-ratelimit-remaining-minute"] == "0"


def test_error_rate_is_seeded_and_reproducible(emu: OVHEmulator, endpoints: Api) -> None:
    def run(seed: int) -> list[int]:
        emu.faults.clear()
        emu.faults.error(status=500, rate=0.5, seed=seed)
        return [endpoints.get("/v1/models").status_code for _ in range(20)]

    first, second, other = run(7), run(7), run(8)
    assert first == second
    assert first != other
    assert 3 <= first.count(500) <= 17


def test_rate_and_count_combine(emu: OVHEmulator, endpoints: Api) -> None:
    rule = emu.faults.error(status=500, rate=1.0, count=3)
    assert [endpoints.get("/v1/models").status_code for _ in range(5)] == [500, 500, 500, 200, 200]
    assert rule.fired == 3


def test_dropped_connection_raises_connection_error_in_requests(
    emu: OVHEmulator, endpoints: Api, caplog: pytest.LogCaptureFixture
) -> None:
    emu.faults.drop(count=1, path_prefix="/v1/models")
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        endpoints.get("/v1/models")
    assert "RemoteDisconnected" in repr(caught.value) or "reset" in repr(caught.value).lower()
    # The session recovers on a fresh connection.
    assert endpoints.get("/v1/models").status_code == 200
    assert emu.accounting()["requests"]["by_route"]["GET /v1/models"] == {"dropped": 1, "200": 1}
    # uvicorn saw a clean client disconnect, not an application error.
    assert not [r for r in caplog.records if r.name.startswith("uvicorn") and r.levelno >= 30]


def test_dropped_connection_with_a_body_and_other_clients(emu: OVHEmulator, training: Api) -> None:
    emu.faults.drop(count=3, path_prefix="/v1/job", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        training.post("/v1/job", json={"image": "ubuntu"})
    with pytest.raises(httpx.TransportError):
        httpx.post(
            emu.url + "/v1/job", json={"image": "ubuntu"}, headers={"Authorization": "Bearer training-token"}
        )
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("GET", "/v1/models")  # not in scope: answered
    assert conn.getresponse().status == 401
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    conn.request("POST", "/v1/job", body=b"{}", headers={"Content-Type": "application/json"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        conn.getresponse()
    conn.close()
    assert emu.accounting()["jobs"]["created"] == 0  # dropped before processing


def test_drop_after_processing_creates_the_job(emu: OVHEmulator, training: Api) -> None:
    emu.faults.drop(count=1, path_prefix="/v1/job", method="POST", after=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        training.post("/v1/job", json={"image": "ubuntu"})
    assert emu.accounting()["jobs"]["created"] == 1
    assert training.get("/v1/job").json()["metadata"]["total"] == 1


def test_error_after_processing(emu: OVHEmulator, endpoints: Api) -> None:
    emu.faults.fail_next(1, status=504, path_prefix="/v1/chat/completions", after=True)
    assert endpoints.post("/v1/chat/completions", json=BODY).status_code == 504
    assert emu.accounting()["tokens"][CHAT]["total"] > 0  # the model did the work


def test_malformed_body_is_truncated_json_with_200(emu: OVHEmulator, training: Api) -> None:
    job = training.create_job()
    emu.faults.malformed(count=1, path_prefix="/v1/job/", method="GET")
    response = training.get(f"/v1/job/{job['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert response.text.startswith('{"id":"') and len(response.text) > 10
    assert training.get(f"/v1/job/{job['id']}").json()["id"] == job["id"]


def test_malformed_on_empty_answers_and_streams(emu: OVHEmulator, training: Api, endpoints: Api) -> None:
    job = training.create_job(labels={"emulator-scenario": "long_queue"})
    emu.faults.malformed(count=1, method="PUT")
    response = training.put(f"/v1/job/{job['id']}/kill")
    assert response.status_code == 200 and response.text == '{"'
    emu.faults.malformed(count=1, path_prefix="/v1/chat")
    response = endpoints.post("/v1/chat/completions", json={**BODY, "stream": True})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"


def test_scoping_by_route_template_and_model(emu: OVHEmulator, training: Api, endpoints: Api) -> None:
    job = training.create_job()
    emu.faults.error(status=500, route="/v1/job/{id}")
    assert training.get(f"/v1/job/{job['id']}").status_code == 500
    assert training.get(f"/v1/job/{job['id']}/log").status_code == 200
    assert training.get("/v1/job").status_code == 200
    emu.faults.clear()
    emu.faults.error(status=503, model="Qwen3-32B")
    assert endpoints.post("/v1/chat/completions", json=BODY).status_code == 200
    assert endpoints.post("/v1/chat/completions", json={**BODY, "model": "Qwen3-32B"}).status_code == 503


def test_rules_evaluate_in_order_and_latency_accumulates(emu: OVHEmulator, endpoints: Api) -> None:
    emu.faults.latency(0.1, count=1)
    emu.faults.latency(0.1, count=1)
    emu.faults.error(status=500, count=1, latency=0.1)
    emu.faults.error(status=502, count=1)
    start = time.monotonic()
    assert endpoints.get("/v1/models").status_code == 500
    assert time.monotonic() - start >= 0.3
    assert endpoints.get("/v1/models").status_code == 502
    assert endpoints.get("/v1/models").status_code == 200


def test_invalid_rules_are_rejected(emu: OVHEmulator) -> None:
    with pytest.raises(ValueError):
        emu.faults.add("explode")
    with pytest.raises(ValueError):
        emu.faults.error(status=42)
    with pytest.raises(ValueError):
        emu.faults.error(rate=2.0)
    with pytest.raises(ValueError):
        emu.faults.latency(0)
    with pytest.raises(ValueError):
        emu.faults.add("error", colour="red")
    with pytest.raises(ValueError):
        emu.faults.malformed(after=True)
    with pytest.raises(ValueError):
        emu.faults.error(path_prefix="v1/job")
    assert emu.faults.rules() == []


def test_http_control_api_for_faults(emu: OVHEmulator, endpoints: Api) -> None:
    control = requests.Session()
    added = control.post(
        emu.url + "/_emulator/faults", json={"kind": "error", "status": 503, "count": 1}, timeout=5
    )
    assert added.status_code == 200
    (rule,) = added.json()["faults"]
    assert rule["kind"] == "error" and rule["count"] == 1 and rule["id"]
    assert endpoints.get("/v1/models").status_code == 503
    listed = control.get(emu.url + "/_emulator/faults", timeout=5).json()["faults"]
    assert listed[0]["fired"] == 1 and listed[0]["count"] == 0
    many = [{"kind": "latency", "latency": 0.01}, {"kind": "drop", "count": 1, "path_prefix": "/v1/models"}]
    assert len(control.post(emu.url + "/_emulator/faults", json=many, timeout=5).json()["faults"]) == 2
    replaced = control.post(
        emu.url + "/_emulator/faults",
        json={"faults": [{"kind": "error", "status": 500, "count": 1}], "replace": True},
        timeout=5,
    )
    assert [r["status"] for r in replaced.json()["faults"]] == [500]
    assert len(emu.faults.rules()) == 1
    bad = control.post(emu.url + "/_emulator/faults", json={"kind": "nope"}, timeout=5)
    assert bad.status_code == 400 and "message" in bad.json()
    bad = control.post(
        emu.url + "/_emulator/faults", json=[{"kind": "error"}, {"kind": "error", "x": 1}], timeout=5
    )
    assert bad.status_code == 400 and len(emu.faults.rules()) == 1  # atomic
    rid = emu.faults.rules()[0].id
    assert control.delete(emu.url + f"/_emulator/faults/{rid}", timeout=5).status_code == 204
    assert control.delete(emu.url + f"/_emulator/faults/{rid}", timeout=5).status_code == 404
    emu.faults.error(status=500)
    assert control.delete(emu.url + "/_emulator/faults", timeout=5).status_code == 204
    assert emu.faults.rules() == []
    assert endpoints.get("/v1/models").status_code == 200


def test_control_routes_are_never_faulted(emu: OVHEmulator) -> None:
    emu.faults.error(status=500)
    emu.faults.drop()
    assert requests.get(emu.url + "/_emulator/health", timeout=5).json() == {"status": "ok"}


def test_fault_rule_is_exported_and_serialisable(emu: OVHEmulator) -> None:
    rule = emu.faults.error(status=502, count=1, method="get", headers={"X-A": "1"})
    assert isinstance(rule, FaultRule) and rule.method == "GET"
    assert json.loads(json.dumps(rule.to_dict()))["headers"] == {"X-A": "1"}


def test_skip_lets_the_first_requests_through(emu: OVHEmulator, endpoints: Api) -> None:
    rule = emu.faults.error(status=500, skip=2, count=1, path_prefix="/v1/models")
    assert [endpoints.get("/v1/models").status_code for _ in range(4)] == [200, 200, 500, 200]
    assert rule.fired == 1
