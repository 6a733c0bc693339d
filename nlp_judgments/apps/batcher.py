"""Micro-batching for the server: the texts of concurrent requests share model calls, one call at a time.

``Batcher.tag(texts)`` queues one request's texts and waits for their entities. One worker takes the
first waiting request, gathers more for up to ``max_wait_s`` or until it holds ``batch_size`` texts,
and calls ``tag`` once on all of them in a dedicated thread. One thread means the model is never
entered twice at once, while the event loop keeps accepting (and queueing) requests during a model
call. A request is never split across model calls, so a call may exceed ``batch_size`` by part of one
request.

- The queue holds at most ``max_queue`` texts; a request that does not fit raises :class:`QueueFull`
  at once (the server answers 503) rather than waiting behind work it would time out on anyway.
- A request cancelled while queued (its timeout ran out) leaves the queue at once: its texts free
  their room and never reach the model. A model call already under way runs to its end.
- When a shared call raises, its requests are retried in halves, down to single requests, so only a
  request whose own texts make the model fail gets the error; the others get their answers.

Not here: HTTP and the checks on texts before they are queued (``apps.server``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Callable


class QueueFull(Exception):
    """The queue has no room for the request's texts; ``retry_after_s`` says when to try again."""

    def __init__(self, queued: int, limit: int, retry_after_s: int):
        super().__init__(f"the server is busy: {queued} texts are waiting (the limit is {limit}); "
                         f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass
class BatchStats:
    """Counters since start-up: how many requests shared each model call, and what went wrong."""

    batches: int = 0  # model calls that succeeded
    requests: int = 0  # requests answered by them
    texts: int = 0
    largest_batch_requests: int = 0
    largest_batch_texts: int = 0
    model_seconds: float = 0.0  # spent in the model calls that succeeded
    failed_calls: int = 0  # model calls that raised (a failed shared call is retried in halves)
    refused: int = 0  # requests refused because the queue was full

    def add(self, requests: int, texts: int, seconds: float) -> None:
        self.batches += 1
        self.requests += requests
        self.texts += texts
        self.model_seconds += seconds
        self.largest_batch_requests = max(self.largest_batch_requests, requests)
        self.largest_batch_texts = max(self.largest_batch_texts, texts)


@dataclass(eq=False)  # compared by identity: two requests with the same texts are two jobs
class _Job:
    texts: list[str]
    future: asyncio.Future = field(repr=False)
    taken: bool = False  # out of the queue, into a batch


class Batcher:
    """Calls ``tag`` on the texts of concurrent requests together, one call at a time, in one thread.

    ``start()`` and ``stop()`` run inside the event loop (the app's lifespan does it).
    """

    def __init__(self, tag: Callable[[list[str]], list], batch_size: int, max_wait_s: float, max_queue: int):
        self._tag = tag
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.max_queue = max_queue  # texts waiting, not counting those in the model call under way
        self.stats = BatchStats()
        self.queued_texts = 0
        self._waiting: deque[_Job] = deque()
        self._arrived: asyncio.Event | None = None  # set when a job is queued; None while stopped
        self._worker: asyncio.Task | None = None
        self._thread: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagger")
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._worker.cancel()
        with suppress(asyncio.CancelledError):
            await self._worker
        self._thread.shutdown(wait=False, cancel_futures=True)  # a model call under way finishes on its own
        self._arrived = None

    def retry_after_s(self) -> int:
        """Whole seconds until the queue has drained at the model's mean speed so far, at least 1."""
        per_text = self.stats.model_seconds / self.stats.texts if self.stats.texts else 0.0
        return max(1, math.ceil(self.queued_texts * per_text))

    async def tag(self, texts: list[str]) -> list:
        """``tag(texts)``, run in a shared model call; cancelling the wait drops the texts if not yet run.

        Raises :class:`QueueFull` when the queue has no room for ``texts``.
        """
        if self._arrived is None:
            raise RuntimeError("the batcher is not running: serve the app with its lifespan "
                               "(uvicorn does; in tests, use TestClient as a context manager)")
        if self.queued_texts + len(texts) > self.max_queue:
            self.stats.refused += 1
            raise QueueFull(self.queued_texts, self.max_queue, self.retry_after_s())
        job = _Job(texts, asyncio.get_running_loop().create_future())
        self._waiting.append(job)
        self.queued_texts += len(texts)
        self._arrived.set()
        try:
            return await job.future
        finally:
            if not job.taken:  # cancelled while queued: nobody else will take it out
                self._waiting.remove(job)
                self.queued_texts -= len(job.texts)

    def _take(self) -> _Job:
        job = self._waiting.popleft()
        job.taken = True
        self.queued_texts -= len(job.texts)
        return job

    async def _run(self) -> None:
        while True:
            await self._call(await self._next_batch())

    async def _next_batch(self) -> list[_Job]:
        """The first waiting request, then any others already queued or arriving within the wait."""
        loop = asyncio.get_running_loop()
        while not self._waiting:
            self._arrived.clear()
            await self._arrived.wait()
        jobs = [self._take()]
        size = len(jobs[0].texts)
        deadline = loop.time() + self.max_wait_s
        while size < self.batch_size:
            if not self._waiting:
                if (left := deadline - loop.time()) <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except asyncio.TimeoutError:
                    break
                continue
            jobs.append(self._take())
            size += len(jobs[-1].texts)
        return jobs

    async def _call(self, jobs: list[_Job]) -> None:
        """One model call for ``jobs``; if it raises, the same for each half, down to single jobs."""
        jobs = [j for j in jobs if not j.future.done()]  # done: timed out while gathered into the batch
        if not jobs:
            return
        texts = [t for j in jobs for t in j.texts]
        started = time.perf_counter()
        try:
            results = await asyncio.get_running_loop().run_in_executor(self._thread, self._tag, texts)
        except Exception as e:
            self.stats.failed_calls += 1
            if len(jobs) == 1:  # the request's own texts fail: it alone gets the error; the server goes on
                if not jobs[0].future.done():
                    jobs[0].future.set_exception(e)
                return
            # Halves rather than each request alone: one bad request among n costs about 2·log2(n)
            # more calls, not n; a call too large for the device (out of memory) gets smaller too.
            half = len(jobs) // 2
            await self._call(jobs[:half])
            await self._call(jobs[half:])
            return
        self.stats.add(len(jobs), len(texts), time.perf_counter() - started)
        at = 0
        for j in jobs:
            if not j.future.done():
                j.future.set_result(results[at : at + len(j.texts)])
            at += len(j.texts)
