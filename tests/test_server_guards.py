"""The server under hostile or excessive load: a failing request in a shared call, a full queue,
timed-out work, Host headers, request bodies that never arrive.

The model here is a stub whose calls the test holds and releases, so every case is a matter of
order, not of timing; the tiny trained model is in ``test_server.py``.
"""

from __future__ import annotations

import asyncio
import select
import socket
import time
from contextlib import suppress
from types import SimpleNamespace

import httpx
import pytest
from fastapi.testclient import TestClient

from nlp_judgments.apps.guards import allowed_hosts
from nlp_judgments.apps.server import ServerSettings, create_app, serve

from .test_server import StubTagger, client, live_server

META = SimpleNamespace(labels=["DEFENDANT"], head="softmax", max_length=64)


def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_a_failing_request_in_a_shared_call_fails_alone():
    stub = StubTagger(META, poison="炸")
    stub.gate.set()
    bodies = [{"text": f"被告人{i}号"} for i in range(7)]
    bodies.insert(4, {"texts": ["被告人甲", "炸"]})
    app = create_app(stub, ServerSettings(batch_size=9, max_batch_wait_ms=5000))  # waits until all 8 share a call

    async def post_all(url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            return await asyncio.gather(*(http.post("/v1/tag", json=b) for b in bodies))

    with live_server(app) as url:
        responses = asyncio.run(post_all(url))
        stats = httpx.get(f"{url}/healthz").json()["batching"]

    assert [r.status_code for r in responses] == [200] * 4 + [500] + [200] * 3
    assert responses[4].json() == {"detail": "internal error; the server log has the details"}
    assert len(stub.calls[0]) == 9  # they did share the first call; halves found the culprit
    assert stats["requests"] == 7 and stats["failed_calls"] >= 2


def test_a_full_queue_is_503_with_retry_after_and_the_queued_requests_are_answered():
    stub = StubTagger(META)
    app = create_app(stub, ServerSettings(batch_size=1, max_batch_wait_ms=0, max_texts=2, max_queue=2))
    batcher = app.state.batcher

    async def scenario(url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            running = asyncio.create_task(http.post("/v1/tag", json={"text": "甲"}))
            await asyncio.to_thread(wait_until, stub.entered.is_set)  # in the model call, held at the gate
            queued = asyncio.create_task(http.post("/v1/tag", json={"texts": ["乙", "丙"]}))
            await asyncio.to_thread(wait_until, lambda: batcher.queued_texts == 2)  # the queue is full
            refused = await http.post("/v1/records", json={"text": "丁"})
            stub.gate.set()
            return refused, await running, await queued, (await http.get("/healthz")).json()["batching"]

    with live_server(app) as url:
        refused, running, queued, stats = asyncio.run(scenario(url))

    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["detail"].startswith("the server is busy: 2 texts are waiting (the limit is 2)")
    assert (running.status_code, queued.status_code) == (200, 200)
    assert stub.calls == [["甲"], ["乙", "丙"]]  # the refused text never reached the model
    assert stats["refused"] == 1 and stats["requests"] == 2


def test_a_request_that_times_out_leaves_the_queue_at_once():
    stub = StubTagger(META)
    settings = ServerSettings(batch_size=1, max_batch_wait_ms=0, max_texts=2, max_queue=2, timeout_s=1.0)
    app = create_app(stub, settings)
    batcher = app.state.batcher

    async def scenario(url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            running = asyncio.create_task(http.post("/v1/tag", json={"text": "甲"}))
            await asyncio.to_thread(wait_until, stub.entered.is_set)
            timed_out = await http.post("/v1/tag", json={"texts": ["乙", "丙"]})  # queued behind the held call
            room = batcher.queued_texts
            # Fits in the queue only if 乙丙 left it.
            later = asyncio.create_task(http.post("/v1/tag", json={"texts": ["丁", "戊"]}))
            await asyncio.to_thread(wait_until, lambda: batcher.queued_texts == 2)
            stub.gate.set()
            return await running, timed_out, room, await later

    with live_server(app) as url:
        running, timed_out, room, later = asyncio.run(scenario(url))

    assert (running.status_code, timed_out.status_code, later.status_code) == (504, 504, 200)
    assert room == 0
    assert stub.calls == [["甲"], ["丁", "戊"]]  # 乙丙 never reached the model


def test_no_records_are_built_for_a_request_that_timed_out():
    built = []

    def slow_record(text, entities):
        time.sleep(0.15)
        built.append(text)
        return {}

    stub = StubTagger(META)
    stub.record = slow_record  # the records the server builds are the tagger's
    stub.gate.set()
    with client(stub, timeout_s=0.4) as c:
        response = c.post("/v1/records", json={"texts": [f"被告人{i}号" for i in range(10)]})
        time.sleep(1.7)  # the time the ten records would take
    assert response.status_code == 504
    assert len(built) <= 4  # stopped soon after the 504, not all ten


@pytest.mark.parametrize("host, status", [
    ("localhost", 200), ("localhost:8000", 200), ("LocalHost:1", 200), ("127.0.0.1:8000", 200), ("[::1]:8000", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("localhost.evil.example", 400),
    ("127.0.0.1.nip.io", 400), ("localhost:80@evil.example", 400), ("[::1]evil", 400),
])
def test_a_loopback_server_answers_only_loopback_host_names(monkeypatch, host, status):
    served = []
    monkeypatch.setattr("nlp_judgments.apps.server.Tagger.load", lambda *a, **kw: StubTagger(META))
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: served.append(app))
    serve("runs/some-model", host="127.0.0.1")
    with TestClient(served[0]) as c:
        response = c.get("/healthz", headers={"host": host})
    assert response.status_code == status
    if status == 400:
        assert response.json()["detail"].startswith(f"Host {host!r} is not allowed")


def test_a_server_on_another_address_answers_any_host_name(monkeypatch):
    served = []
    monkeypatch.setattr("nlp_judgments.apps.server.Tagger.load", lambda *a, **kw: StubTagger(META))
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: served.append(app))
    serve("runs/some-model", host="0.0.0.0")
    with TestClient(served[0]) as c:
        assert c.get("/healthz", headers={"host": "judgments.example:8000"}).status_code == 200
    assert allowed_hosts("::1") == allowed_hosts("localhost") == {"localhost", "127.0.0.1", "[::1]"}
    assert allowed_hosts("127.0.0.2") == {"localhost", "127.0.0.1", "[::1]", "127.0.0.2"}
    assert allowed_hosts("judgments.example") is None


@pytest.mark.parametrize("trickle", [False, True], ids=["stalled", "trickled"])
def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(trickle):
    stub = StubTagger(META)
    stub.gate.set()
    with live_server(create_app(stub, ServerSettings(body_timeout_s=0.5))) as url:
        with socket.create_connection((httpx.URL(url).host, httpx.URL(url).port), timeout=5) as sock:
            sock.sendall(b"POST /v1/tag HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200\r\n\r\n" + b'{"text": "')
            started, received = time.monotonic(), b""
            # Until the answer starts: nothing more, or a byte every 0.1 s (no gap is long; the whole
            # body would take 20 s).
            while not select.select([sock], [], [], 0.1)[0] and time.monotonic() - started < 5:
                if trickle:
                    sock.sendall(b"x")
            with suppress(ConnectionResetError):  # a hang-up with our last byte in flight is a reset
                while chunk := sock.recv(4096):  # until the server hangs up
                    received += chunk
            elapsed = time.monotonic() - started
    assert received.startswith(b"HTTP/1.1 408 ")
    assert received.endswith(b'{"detail":"request body not received within 0.5 s"}')
    assert elapsed < 3
