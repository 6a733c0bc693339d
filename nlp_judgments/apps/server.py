"""The HTTP server: a trained tagger behind FastAPI, with concurrent requests micro-batched onto the model.

``create_app(tagger, settings)`` builds the app (testable in-process, no network); ``serve(model_dir)``
loads a model folder and runs the app under uvicorn, on 127.0.0.1 unless told otherwise.

Endpoints (JSON in and out; ``/openapi.json`` describes them; no docs UI, since Swagger UI and ReDoc
load their scripts from a CDN, dead offline):

- ``POST /v1/tag``: ``{"texts": [...]}`` or ``{"text": "..."}`` → ``{"results": [{"entities": [...]}]}``,
  one result per text, entities as :meth:`Entity.to_dict` (character offsets into the text sent);
- ``POST /v1/records``: the same, each result also carrying the case record built from the model's
  entities and the rule spans (``Tagger.record``: :func:`~nlp_judgments.legal.records.record_from_model_and_rules`, or the entities as they are under ``--rules``);
- ``GET /healthz``: status, the model (its folder's name, labels, window size), the limits and the
  batching counters.

Requests share model calls through :class:`~nlp_judgments.apps.batcher.Batcher`.

Limits (:class:`ServerSettings`), each answered at once, before any model work: ``Host`` not a
loopback name on a loopback address → 400; request body → 413, counted from Content-Length and
again while the body streams in (a chunked or mislabelled body is cut off too); body not received
within ``body_timeout_s`` → 408; characters per text → 413; a text the model cannot take (an
unpaired surrogate) → 422 with the reason; texts per request → 422; texts waiting for the model →
503 with ``Retry-After``. Time per request, queueing included → 504, and the request's work stops:
its texts leave the queue if not yet in a model call, and no record is built for it after.
Malformed JSON or wrong types → 422 with FastAPI's validation errors. A model call that raises
fails only the request whose texts caused it (500). Every error body is ``{"detail": ...}``.

Not here: authentication, TLS, rate limiting (put a reverse proxy in front); several models per
process. To scale out, run more processes, each with its own copy of the model. The batcher
(``apps.batcher``) and the Host and body checks (``apps.guards``) have their own modules.
"""

from __future__ import annotations

import asyncio
import math
import threading
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Collection, Literal, Sequence

from fastapi import FastAPI, HTTPException
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import HTMLResponse, JSONResponse

from nlp_judgments import __version__
from nlp_judgments.apps.batcher import Batcher, BatchStats, QueueFull
from nlp_judgments.apps.guards import BodyLimit, HostCheck, allowed_hosts
from nlp_judgments.apps.review import render_review
from nlp_judgments.data.inputs import check_text
from nlp_judgments.tagging.tagger import Entity, Tagger


@dataclass(frozen=True)
class ServerSettings:
    """What the server accepts and how it batches; ``nlp-judgments serve --help`` shows the same defaults."""

    # Most texts per model call. `serve` also makes it the tagger's windows per forward pass, so a
    # batch of short texts is one forward pass.
    batch_size: int = 16
    max_batch_wait_ms: float = 5.0  # how long a request may wait for others to share its model call, in ms
    max_body_bytes: int = 1 << 20  # request body, in bytes (1 MiB)
    max_chars: int = 200_000  # characters per text
    max_texts: int = 64  # texts per request
    # Texts waiting for the model, at most; a request beyond gets 503. 16 calls of `batch_size`: ample
    # for ONNX int8 or a GPU; torch on 2 CPU threads (4,600 chars/s, docs/RESULTS.md) gets through
    # about 80 judgments of average length (1,700 chars) in `timeout_s`, so the back of a full queue
    # would get 504 after waiting: lower it there, and clients hear 503 at once instead.
    max_queue: int = 256
    timeout_s: float = 30.0  # per request, from its parsed body to the answer (queue, model, records), in seconds
    body_timeout_s: float = 10.0  # to receive a request's body once its headers are in, in seconds

    def __post_init__(self):
        for name in ("batch_size", "max_body_bytes", "max_chars", "max_texts", "max_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_batch_wait_ms < 0:
            raise ValueError(f"max_batch_wait_ms must be 0 or more, got {self.max_batch_wait_ms}")
        for name in ("timeout_s", "body_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_queue < self.max_texts:  # a request of max_texts texts could never be queued
            raise ValueError(f"max_queue ({self.max_queue}) must be at least max_texts ({self.max_texts})")


# ---- request and response bodies (they make /openapi.json) ----


class TagRequest(BaseModel):
    """Either ``texts`` or ``text``; the response has one result per text, in order."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"texts": ["被告人张某犯盗窃罪，判处有期徒刑六个月。"]}]}
    )

    texts: list[str] | None = Field(None, description="judgment texts; an empty string gives no entities")
    text: str | None = Field(None, description='one judgment text: the same as "texts": [text]')

    @model_validator(mode="after")
    def _exactly_one(self) -> "TagRequest":
        if (self.texts is None) == (self.text is None):
            raise ValueError('give exactly one of "texts" (a list of strings) or "text" (a string)')
        return self

    def all_texts(self) -> list[str]:
        return self.texts if self.texts is not None else [self.text]


class EntityOut(BaseModel):
    start: int = Field(description="offset of the first character in the text sent")
    end: int = Field(description="offset after the last character (end-exclusive)")
    label: str
    text: str = Field(description="text[start:end]")
    score: float = Field(description="mean probability of the predicted tags over the entity's tokens (rules: 1)")
    source: str = Field("model", description='"model", or "rules" when the server runs with --rules')


class TagResult(BaseModel):
    entities: list[EntityOut] = Field(description="sorted by start offset")


class TagResponse(BaseModel):
    results: list[TagResult] = Field(description="one per text, in request order")


class RecordResult(TagResult):
    record: dict[str, Any] = Field(description="the case record; its JSON Schema ships as "
                                               "nlp_judgments/resources/record.schema.json")


class RecordsResponse(BaseModel):
    results: list[RecordResult] = Field(description="one per text, in request order")


class ModelInfo(BaseModel):
    dir: str | None = Field(description="the model folder's name (not its path), when the server loaded it from one")
    labels: list[str]
    head: str
    max_length: int = Field(description="tokens per window; longer texts are tagged in overlapping windows")


class Health(BaseModel):
    status: Literal["ok"]
    model: ModelInfo
    limits: dict[str, int | float]
    batching: BatchStats


class ErrorOut(BaseModel):
    detail: str


_ERRORS = {
    400: {"model": ErrorOut, "description": "Host header not allowed"},
    408: {"model": ErrorOut, "description": "request body not received within the body timeout"},
    413: {"model": ErrorOut, "description": "request body or a text too large"},
    500: {"model": ErrorOut, "description": "internal error, e.g. the model failed on a text of this request"},
    503: {"model": ErrorOut, "description": "the queue is full; the Retry-After header says when to try again"},
    504: {"model": ErrorOut, "description": "no answer within the request timeout"},
}


# ---- the app ----


def _records(texts: Sequence[str], entities: Sequence[list[Entity]], record, stop: threading.Event) -> list[dict]:
    """Entities and record per text (``record``: the tagger's, which adds the rule spans only where
    its entities lack them); stops early once ``stop`` is set (the request got 504: nobody will read
    them, and other requests need the CPU)."""
    out = []
    for text, ents in zip(texts, entities):
        if stop.is_set():
            break
        out.append({"entities": [e.to_dict() for e in ents], "record": record(text, ents)})
    return out


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as strings, which JSON can carry.

    >>> _finite([{"input": float("nan")}, 1.5])
    [{'input': 'nan'}, 1.5]
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


_REVIEW_FORM = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>nlp-judgments review</title>
<style>
body { margin: 0; font: 14px/1.5 system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; color: #222; }
header { display: flex; gap: 12px; align-items: flex-start; padding: 12px; border-bottom: 1px solid #ddd; background: #fafafa; }
textarea { flex: 1; height: 110px; font: inherit; padding: 6px; }
button { padding: 8px 18px; font: inherit; cursor: pointer; }
#status { color: #a00; padding: 0 12px; }
iframe { border: 0; width: 100%; height: calc(100vh - 150px); }
</style></head><body>
<header><textarea id="text" placeholder="粘贴一份判决书全文 / paste a judgment"></textarea>
<button id="go">Tag</button></header>
<div id="status"></div>
<iframe id="out" title="review"></iframe>
<script>
document.getElementById("go").onclick = async () => {
  const status = document.getElementById("status");
  status.textContent = "";
  const response = await fetch("/v1/review", {method: "POST", headers: {"content-type": "application/json"},
                                             body: JSON.stringify({text: document.getElementById("text").value})});
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    status.textContent = response.status + ": " + JSON.stringify(body.detail ?? body);
    return;
  }
  document.getElementById("out").srcdoc = await response.text();
};
</script></body></html>
"""


def create_app(
    tagger: Tagger,
    settings: ServerSettings | None = None,
    model_dir: str | Path | None = None,
    hosts: Collection[str] | None = None,
) -> FastAPI:
    """The app serving ``tagger`` (anything with ``.tag(texts)``, ``.record(text, entities)`` and
    ``.meta``) under ``settings``.

    ``hosts``: the ``Host`` names it answers (any port), others get 400; ``None`` answers any
    (``serve`` passes :func:`~nlp_judgments.apps.guards.allowed_hosts` of its address).
    """
    settings = settings or ServerSettings()
    batcher = Batcher(tagger.tag, settings.batch_size, settings.max_batch_wait_ms / 1000, settings.max_queue)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        try:
            yield
        finally:
            await batcher.stop()

    # No docs UI: Swagger UI and ReDoc fetch their scripts from a CDN; /openapi.json stays.
    app = FastAPI(title="nlp-judgments", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Entities and case records from Chinese criminal judgments.")
    app.state.batcher = batcher
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    if hosts is not None:
        app.add_middleware(HostCheck, hosts=hosts)  # added last, so it runs first

    @app.exception_handler(Exception)
    async def internal_error(request, exc: Exception) -> JSONResponse:  # the traceback goes to the log only
        return JSONResponse({"detail": "internal error; the server log has the details"}, 500)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request, exc: RequestValidationError) -> JSONResponse:
        # As FastAPI's own handler, but Python's JSON parser accepts NaN and Infinity, which the
        # echoed inputs cannot carry back: its 422 became a 500.
        return JSONResponse({"detail": _finite(jsonable_encoder(exc.errors()))}, 422)

    @app.exception_handler(QueueFull)
    async def queue_full(request, exc: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, 503, headers={"retry-after": str(exc.retry_after_s)})

    def checked(body: TagRequest) -> list[str]:
        """The request's texts, or the error to answer before they are queued."""
        texts = body.all_texts()
        if len(texts) > settings.max_texts:
            raise RequestValidationError([{
                "type": "too_long", "loc": ("body", "texts"), "input": None,
                "msg": f"at most {settings.max_texts} texts per request, got {len(texts)}",
            }])
        for i, text in enumerate(texts):
            if len(text) > settings.max_chars:
                raise HTTPException(413, f"text {i} has {len(text)} characters; the limit is {settings.max_chars}")
        # A text the model would fail on (an unpaired surrogate) is refused here rather than failing
        # a model call. A blank text still gets no entities, as it always has.
        bad = [{"type": "invalid_text", "loc": ("body", "texts", i) if body.texts is not None else ("body", "text"),
                "input": None, "msg": reason}
               for i, text in enumerate(texts) if text.strip() and (reason := check_text(text, settings.max_chars))]
        if bad:
            raise RequestValidationError(bad)
        return texts

    async def answer(work: Callable[[threading.Event], Awaitable[Any]]) -> Any:
        """``await work(stop)`` within the request timeout, else 504; ``stop`` is set then, so that work
        already handed to a thread quits early. Cancelling ``work`` takes its texts out of the queue."""
        stop = threading.Event()
        try:
            return await asyncio.wait_for(work(stop), settings.timeout_s)
        except asyncio.TimeoutError:
            stop.set()
            raise HTTPException(504, f"no answer within {settings.timeout_s:g} s; the server is busy "
                                     "or the texts are long") from None

    async def records(texts: list[str], stop: threading.Event) -> list[dict]:
        entities = await batcher.tag(texts)
        return await asyncio.to_thread(_records, texts, entities, tagger.record, stop)  # pure Python: keep it off the event loop

    @app.post("/v1/tag", response_model=TagResponse, responses=_ERRORS)
    async def tag_texts(body: TagRequest) -> dict:
        """Entities in each text."""
        texts = checked(body)
        entities = await answer(lambda stop: batcher.tag(texts))
        return {"results": [{"entities": [e.to_dict() for e in ents]} for ents in entities]}

    @app.post("/v1/records", response_model=RecordsResponse, responses=_ERRORS)
    async def build_records(body: TagRequest) -> dict:
        """The model's entities in each text, and its case record, built from those entities combined
        with the rule spans (a rule span wins where the two overlap)."""
        texts = checked(body)
        return {"results": await answer(lambda stop: records(texts, stop))}

    @app.post("/v1/review", response_class=HTMLResponse, responses=_ERRORS)
    async def review_page(body: TagRequest) -> HTMLResponse:
        """The review page (as ``nlp-judgments review`` writes it) for the given texts: entities
        highlighted by label, the case record beside the text, each field linked to its evidence."""
        texts = checked(body)

        async def work(stop: threading.Event) -> str:
            results = await records(texts, stop)
            lines = [{"id": f"text-{i + 1}", "text": text, **result} for i, (text, result) in enumerate(zip(texts, results))]
            return await asyncio.to_thread(render_review, lines, "nlp-judgments review")

        return HTMLResponse(await answer(work))

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    async def review_form() -> HTMLResponse:
        """Paste a judgment, see what the model and the rules made of it."""
        return HTMLResponse(_REVIEW_FORM)

    @app.get("/healthz", response_model=Health)
    async def healthz() -> dict:
        """Liveness, what model is served, the limits, and how requests have been batched."""
        meta = tagger.meta
        return {
            "status": "ok",
            # The folder's name only: its absolute path tells a caller about the machine, not the model.
            "model": {"dir": None if model_dir is None else Path(model_dir).name, "labels": meta.labels,
                      "head": meta.head, "max_length": meta.max_length},
            "limits": asdict(settings),
            "batching": batcher.stats,
        }

    return app


def serve(
    model_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServerSettings | None = None,
    threads: int | None = None,
    device: str | None = None,
    log_level: str = "info",
    backend: str = "auto",
    rules: bool = False,
) -> None:
    """Load the model folder and serve it until interrupted (Ctrl-C finishes the requests under way).

    On a loopback ``host`` only requests for localhost, 127.0.0.1 or [::1] are answered (DNS rebinding).
    """
    import uvicorn

    settings = settings or ServerSettings()
    tagger = Tagger.load(model_dir, device=device, batch_size=settings.batch_size, num_threads=threads, backend=backend,
                         rules=rules)
    app = create_app(tagger, settings, model_dir, hosts=allowed_hosts(host))
    uvicorn.run(app, host=host, port=port, log_level=log_level)
