"""ASGI middleware at the server's edge: the Host check, and the request body read under a size and a time limit.

- :class:`HostCheck`: 400 to a request whose ``Host`` header is not an allowed name. A server on
  127.0.0.1 is reachable from any web page the machine's browser opens: a page on ``evil.example``
  whose DNS answer switches to 127.0.0.1 (DNS rebinding) sends requests the browser thinks are
  same-origin, but they carry ``Host: evil.example``. :func:`allowed_hosts` gives the names to allow
  for the address the server listens on.
- :class:`BodyLimit`: 413 to a body over ``max_bytes`` (declared, or counted while it streams in), 408
  to one not received within ``timeout_s`` of its headers (a client that trickles or never sends
  its body would otherwise hold a connection and its memory forever).

Not here: the endpoints and the limits on texts (``apps.server``); timeouts before the headers are
in, which belong to the HTTP server (uvicorn) or a reverse proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Collection

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(bind: str) -> frozenset[str] | None:
    """The ``Host`` names to accept on a server listening on ``bind``: on a loopback address, only
    loopback names (and ``bind`` itself); on any other address, ``None``: any name.

    >>> sorted(allowed_hosts("127.0.0.1"))
    ['127.0.0.1', '[::1]', 'localhost']
    >>> allowed_hosts("0.0.0.0") is None
    True
    """
    if bind.lower() == "localhost":
        return frozenset(LOOPBACK_NAMES)
    try:
        address = ipaddress.ip_address(bind.strip("[]"))
    except ValueError:  # a host name: whoever chose it decides who may use it
        return None
    if not address.is_loopback:
        return None
    own = f"[{address.compressed}]" if address.version == 6 else address.compressed
    return frozenset(LOOPBACK_NAMES) | {own}


def host_name(header: str) -> str | None:
    """The name in a ``Host`` header, lower-cased and without its port; ``None`` when malformed.

    >>> host_name("LocalHost:8000"), host_name("[::1]:80"), host_name("127.0.0.1"), host_name("a:b")
    ('localhost', '[::1]', '127.0.0.1', None)
    """
    header = header.strip().lower()
    if header.startswith("["):
        name, bracket, rest = header.partition("]")
        name += bracket
    else:
        name, _, rest = header.partition(":")
        rest = ":" + rest if rest else ""
    if rest and not (rest.startswith(":") and rest[1:].isdigit()):
        return None
    return name or None


class HostCheck:
    """ASGI middleware: 400 unless the ``Host`` header names one of ``hosts`` (any port)."""

    def __init__(self, app: ASGIApp, hosts: Collection[str]):
        self.app = app
        self.hosts = frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if host_name(header) not in self.hosts:
            response = JSONResponse({"detail": f"Host {header[:100]!r} is not allowed; this server answers to "
                                               f"{', '.join(sorted(self.hosts))}"}, 400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """ASGI middleware: 413 to a request body over ``max_bytes``, declared or streamed; 408 to a body
    not complete within ``timeout_s`` of the request's headers.

    The body is read here, counting, and handed on whole; FastAPI would hold it in memory anyway.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

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
        try:
            # One deadline for the whole body, not one per chunk: a byte every few seconds must not
            # keep it alive.
            body = await asyncio.wait_for(self._read(receive), self.timeout_s)
        except asyncio.TimeoutError:
            response = JSONResponse({"detail": f"request body not received within {self.timeout_s:g} s"}, 408,
                                    headers={"connection": "close"})  # the rest of the body may still come: hang up
            await response(scope, receive, send)
            return
        if body is None:  # the client went away
            return
        if len(body) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return

        message: Message | None = {"type": "http.request", "body": body, "more_body": False}

        async def replay() -> Message:
            nonlocal message
            if message is None:
                return await receive()  # after the body: only the disconnect is left to hear
            out, message = message, None
            return out

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body; as soon as it passes ``max_bytes``, what came so far (the caller says 413)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": f"request body is larger than {self.max_bytes} bytes"}, 413)
        await response(scope, receive, send)
