"""Refusals before the body is parsed: a wrong Content-Type (415) and a body over MAX_BODY_BYTES (413).

A pure ASGI middleware on the POST endpoints: it reads the body up to the limit (never more), answers
itself when the request is refused, and otherwise replays the body to the app. After the body it hands
the app the server's own ``receive``, so the app can still learn that the client went away.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, MutableMapping

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return 0


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """415 for anything but JSON, 413 for a body over ``max_body_bytes``, on ``paths`` (POST)."""

    def __init__(self, app: ASGIApp, paths: FrozenSet[str], max_body_bytes: int) -> None:
        self.app = app
        self.paths = paths
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        media = _media_type(scope)
        if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
            await _answer(send, 415, f"Content-Type must be application/json, but got {media or 'none'!r}")
            return
        declared = _content_length(scope)
        if declared > self.max_body_bytes:
            await _answer(send, 413, f"the body must be at most {self.max_body_bytes} bytes (MAX_BODY_BYTES), "
                                     f"but Content-Length is {declared}")
            return
        chunks: List[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nothing to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _answer(send, 413, f"the body must be at most {self.max_body_bytes} bytes "
                                         f"(MAX_BODY_BYTES), but got more than that")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed: Dict[str, bool] = {"done": False}

        async def replay() -> Message:
            if not replayed["done"]:
                replayed["done"] = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: the server's disconnect notice

        await self.app(scope, replay, send)
