"""The HTTP server: shared model calls under concurrency, the limits, errors as JSON, the served documents.

The server under hostile or excessive load (failing calls, a full queue, timeouts, Host, slow bodies)
is in ``test_server_guards.py``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict

import httpx
import jsonschema
import pytest
import uvicorn
from fastapi.testclient import TestClient

from nlp_judgments.apps.server import ServerSettings, create_app
from nlp_judgments.cli import build_parser, main
from nlp_judgments.legal.records import record_from_model_and_rules, record_schema
from nlp_judgments.tagging.tagger import Tagger
from nlp_judgments.training.loop import train

from .test_train import tiny_config


@pytest.fixture(scope="module")
def model_dir(tiny_dir, spans_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("served")
    train(tiny_config(tiny_dir, spans_file, out, epochs=15, eval_every=15))  # one evaluation: seconds
    return out / "model-last"


@pytest.fixture(scope="module")
def tagger(model_dir):
    return Tagger.load(model_dir, device="cpu")


@pytest.fixture(scope="module")
def texts(sample_docs):
    # Max length 64: the last text is tagged in several windows.
    return [d.text for d in sample_docs] + ["", "被告人张某犯盗窃罪，判处有期徒刑六个月。" * 12]


@contextmanager
def client(tagger, **settings):
    """An in-process client; entering it runs the app's lifespan, which starts the batcher."""
    with TestClient(create_app(tagger, ServerSettings(**settings)), raise_server_exceptions=False) as c:
        yield c


@contextmanager
def live_server(app):
    """The app under a real uvicorn server on a free port of 127.0.0.1, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def assert_same_entities(served: list[dict], direct) -> None:
    """Equal spans and labels; scores to 3 decimals, since batched and single runs pad differently."""
    assert [{k: v for k, v in e.items() if k != "score"} for e in served] == \
           [{k: v for k, v in e.to_dict().items() if k != "score"} for e in direct]
    assert [e["score"] for e in served] == pytest.approx([e.score for e in direct], abs=1e-3)


class StubTagger:
    """Finds nothing, at once, after the test opens its gate; raises while ``fail`` is set, or when a
    text holds ``poison``. ``calls`` has the texts of each call; ``entered`` is set by the first."""

    def __init__(self, meta, fail: bool = False, poison: str | None = None):
        self.meta, self.fail, self.poison = meta, fail, poison
        self.gate, self.entered = threading.Event(), threading.Event()
        self.calls: list[list[str]] = []

    def tag(self, texts):
        self.calls.append(list(texts))
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail or (self.poison is not None and any(self.poison in t for t in texts)):
            raise RuntimeError("model broke")
        return [[] for _ in texts]

    def record(self, text, entities):
        return record_from_model_and_rules(text, entities)


@pytest.mark.parametrize("settings, certain_to_share", [
    # The worker waits (up to 5 s) until it holds all 20 texts: sharing is certain, not a matter of timing.
    (ServerSettings(batch_size=20, max_batch_wait_ms=5000), True),
    (ServerSettings(), False),
], ids=["waits-for-all", "defaults"])
def test_concurrent_requests_share_model_calls_and_match_direct_tagging(tagger, texts, settings, certain_to_share):
    n = 20
    bodies = [{"texts": [texts[i % len(texts)]]} if i % 2 else {"text": texts[i % len(texts)]} for i in range(n)]
    app = create_app(tagger, settings)

    async def post_all(url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            return await asyncio.gather(*(http.post("/v1/tag", json=b) for b in bodies))

    with live_server(app) as url:
        responses = asyncio.run(post_all(url))
        stats = httpx.get(f"{url}/healthz").json()["batching"]

    assert [r.status_code for r in responses] == [200] * n
    for body, response in zip(bodies, responses):
        [result] = response.json()["results"]
        [direct] = tagger.tag(body.get("texts") or [body["text"]])
        assert_same_entities(result["entities"], direct)
    assert stats["requests"] == n and stats["texts"] == n
    if certain_to_share:
        assert stats["largest_batch_requests"] > 1


@pytest.mark.parametrize("poison", [
    b'"\\ud800"',  # a lone surrogate, escaped: valid JSON
    b'"\xed\xa0\x80"',  # the same surrogate as raw bytes: Python's JSON parser lets it through too
], ids=["escaped", "raw-bytes"])
def test_a_text_with_a_lone_surrogate_is_422_and_the_others_are_answered(tagger, texts, poison):
    good = [texts[i % len(texts)] or "被告人张某犯盗窃罪。" for i in range(8)]
    # The batch waits for 9 texts: if the bad request were queued, it would share the good ones' call.
    app = create_app(tagger, ServerSettings(batch_size=9, max_batch_wait_ms=1000))
    bad = '{"texts": ["被告人", '.encode() + poison + b"]}"

    async def post_all(url):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            posts = [http.post("/v1/tag", json={"text": t}) for t in good]
            posts.insert(3, http.post("/v1/tag", content=bad, headers={"content-type": "application/json"}))
            return await asyncio.gather(*posts)

    with live_server(app) as url:
        responses = asyncio.run(post_all(url))
        stats = httpx.get(f"{url}/healthz").json()["batching"]

    refused = responses.pop(3)
    assert refused.status_code == 422
    assert refused.json()["detail"] == [{"type": "invalid_text", "loc": ["body", "texts", 1], "input": None,
                                         "msg": "text holds an unpaired surrogate at character 0"}]
    assert [r.status_code for r in responses] == [200] * len(good)
    for text, response in zip(good, responses):
        assert_same_entities(response.json()["results"][0]["entities"], tagger.tag([text])[0])
    assert stats["largest_batch_requests"] == len(good) and stats["failed_calls"] == 0


def test_one_request_with_many_texts_keeps_their_order(tagger, texts):
    with client(tagger) as c:
        response = c.post("/v1/tag", json={"texts": texts})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == len(texts)
    for result, direct in zip(results, tagger.tag(texts)):
        assert_same_entities(result["entities"], direct)
    assert results[texts.index("")] == {"entities": []}


def test_body_over_the_limit_is_413_whether_declared_or_streamed(tagger):
    limit = 1000
    chunks = [b'{"text": "', b"x" * 600, b"x" * 600, b'"}']  # 1,212 bytes, no Content-Length
    with live_server(create_app(tagger, ServerSettings(max_body_bytes=limit))) as url:
        declared = httpx.post(f"{url}/v1/tag", json={"text": "x" * 2 * limit})
        streamed = httpx.post(f"{url}/v1/tag", content=iter(chunks), headers={"content-type": "application/json"})
        small = httpx.post(f"{url}/v1/tag", content=iter([b'{"text": "', b"x" * 300, b'"}']),
                           headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers  # sent chunked
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json() == {"detail": f"request body is larger than {limit} bytes"}
    assert small.status_code == 200 and len(small.json()["results"]) == 1


def test_text_and_request_size_limits(tagger):
    with client(tagger, max_chars=10, max_texts=3) as c:
        long_text = c.post("/v1/tag", json={"texts": ["短", "被告人张某犯盗窃罪，判处"]})
        many = c.post("/v1/records", json={"texts": ["a", "b", "c", "d"]})
        at_limits = c.post("/v1/tag", json={"texts": ["被告人张某犯盗窃罪，", "", "c"]})
    assert long_text.status_code == 413
    assert long_text.json()["detail"] == "text 1 has 12 characters; the limit is 10"
    assert many.status_code == 422
    assert "at most 3 texts per request, got 4" in many.json()["detail"][0]["msg"]
    assert at_limits.status_code == 200


@pytest.mark.parametrize(
    "body, reason",
    [
        ('{"texts": ["被告人', "JSON decode error"),
        ("not json", "JSON decode error"),
        ('{"texts": "一段文字"}', "valid list"),
        ('{"texts": [1, 2]}', "valid string"),
        ('{"text": null}', "exactly one of"),
        ('{"text": "a", "texts": ["b"]}', "exactly one of"),
        ('{"txt": "a"}', "Extra inputs"),
        ("[]", "valid dictionary"),
        # Python's JSON parser takes NaN and Infinity; the 422 echoing them must still be JSON (it was a 500).
        ('{"texts": ["a", NaN]}', "valid string"),
        ('{"text": "a", "n": -Infinity}', "Extra inputs"),
    ],
)
def test_malformed_requests_are_422_with_the_reason(tagger, body, reason):
    with client(tagger) as c:
        response = c.post("/v1/tag", content=body.encode(), headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert reason in json.dumps(response.json()["detail"]) and "Traceback" not in response.text


def test_slow_model_gives_504_and_the_server_recovers(tagger):
    slow = StubTagger(tagger.meta)
    with client(slow, timeout_s=0.5) as c:
        timed_out = c.post("/v1/tag", json={"text": "被告人张某犯盗窃罪。"})  # the model call hangs at the gate
        slow.gate.set()
        later = c.post("/v1/tag", json={"text": "被告人张某犯盗窃罪。"})
    assert timed_out.status_code == 504
    assert timed_out.json() == {"detail": "no answer within 0.5 s; the server is busy or the texts are long"}
    assert later.status_code == 200 and later.json() == {"results": [{"entities": []}]}


def test_a_failing_model_call_is_500_and_the_server_goes_on(tagger):
    broken = StubTagger(tagger.meta, fail=True)
    broken.gate.set()
    with client(broken) as c:
        failed = c.post("/v1/tag", json={"text": "a"})
        broken.fail = False
        later = c.post("/v1/tag", json={"text": "a"})
    assert failed.status_code == 500
    assert failed.json() == {"detail": "internal error; the server log has the details"}
    assert later.status_code == 200


def test_records_follow_the_record_schema(tagger, texts):
    with client(tagger) as c:
        response = c.post("/v1/records", json={"texts": texts})
        tagged = c.post("/v1/tag", json={"texts": texts})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["entities"] for r in results] == [r["entities"] for r in tagged.json()["results"]]
    for text, entities, result in zip(texts, tagger.tag(texts), results):
        jsonschema.validate(result["record"], record_schema())
        assert result["record"] == record_from_model_and_rules(text, entities)
    assert [a["value"] for a in results[1]["record"]["amounts"]] == [6650, 434000]  # 人民币6650元, 43.4万余元


def test_health_and_api_documents(tagger, model_dir):
    app = create_app(tagger, ServerSettings(), model_dir=model_dir)
    with TestClient(app) as c:
        health = c.get("/healthz")
        openapi = c.get("/openapi.json")
        docs = [c.get(path) for path in ("/docs", "/redoc")]
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["limits"] == asdict(ServerSettings())
    # The folder's name, not its absolute path.
    assert body["model"] == {"dir": model_dir.name, "labels": tagger.meta.labels, "head": "softmax", "max_length": 64}
    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    assert {"/v1/tag", "/v1/records", "/healthz"} <= set(paths)
    assert "TagRequest" in json.dumps(paths["/v1/tag"]["post"]["requestBody"])
    assert {"200", "408", "413", "422", "503", "504"} <= set(paths["/v1/records"]["post"]["responses"])
    assert [r.status_code for r in docs] == [404, 404]  # their pages load scripts from a CDN: off


def test_cli_defaults_are_the_settings_defaults(monkeypatch, model_dir):
    args = build_parser().parse_args(["serve", "--model", "m"])
    assert asdict(ServerSettings()) == {
        "batch_size": args.batch_size, "max_batch_wait_ms": args.max_batch_wait_ms,
        "max_body_bytes": args.max_body_bytes, "max_chars": args.max_chars,
        "max_texts": args.max_texts, "max_queue": args.max_queue, "timeout_s": args.timeout,
        "body_timeout_s": args.body_timeout,
    }
    assert args.host == "127.0.0.1"

    calls = []
    monkeypatch.setattr("nlp_judgments.apps.server.serve", lambda *a, **kw: calls.append((a, kw)))
    assert main(["serve", "--model", str(model_dir), "--port", "9001", "--max-texts", "5", "--timeout", "2"]) == 0
    (model, host, port, settings), kw = calls[0]
    assert (model, host, port) == (str(model_dir), "127.0.0.1", 9001)
    assert settings == ServerSettings(max_texts=5, timeout_s=2.0)
    assert kw == {"threads": None, "device": None, "backend": "auto", "rules": False}


def test_invalid_settings_are_refused(capsys):
    with pytest.raises(ValueError, match="batch_size"):
        ServerSettings(batch_size=0)
    with pytest.raises(ValueError, match=r"max_queue \(10\) must be at least max_texts \(64\)"):
        ServerSettings(max_queue=10)
    assert main(["serve", "--model", "m", "--timeout", "0"]) == 2
    assert "timeout_s must be positive" in capsys.readouterr().err
    assert main(["serve", "--model", "m", "--body-timeout", "-1"]) == 2
    assert "body_timeout_s must be positive" in capsys.readouterr().err


def test_review_page_in_the_server(tagger):
    text = "浙江省杭州市临平区人民法院\n刑事判决书\n被告人王某，男。\n判决如下：\n被告人王某犯盗窃罪，判处拘役六个月。"
    with client(tagger) as c:
        form = c.get("/review")
        page = c.post("/v1/review", json={"text": text})
        too_long = c.post("/v1/review", json={"text": "字" * (ServerSettings().max_chars + 1)})
    assert form.status_code == 200 and 'fetch("/v1/review"' in form.text
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-field="court"' in page.text and "浙江省杭州市临平区人民法院" in page.text  # rules fill the court
    assert too_long.status_code == 413
