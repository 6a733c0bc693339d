"""ASGI middleware at the server's edge: the request body read under a size limit.

- :class:`BodyLimit`: 413 to a body over ``max_bytes`` (declared, or counted while it streams in).

Not here: the endpoints and the limits on texts (``apps.server``).
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """ASGI middleware: answer 413 to a request body over ``max_bytes``, declared or streamed.

    The body is read here, counting, and handed on whole; FastAPI would hold it in memory anyway.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit():
            await JSONResponse({"detail": "invalid Content-Length"}, 400)(scope, receive, send)
            return
        if int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        body: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()  # after the body: only the disconnect is left to hear
            message, body = body, None
            return message

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": f"request body is larger than {self.max_bytes} bytes"}, 413)
        await response(scope, receive, send)
