"""The server under hostile or excessive load: a failing request in a shared call.

The model here is a stub whose calls the test holds and releases, so every case is a matter of
order, not of timing; the tiny trained model is in ``test_server.py``.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx

from nlp_judgments.apps.server import ServerSettings, create_app

from .test_server import StubTagger, live_server

META = SimpleNamespace(labels=["DEFENDANT"], head="softmax", max_length=64)


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
