"""ASGI middleware: a size limit on request bodies, and request metrics.

Both are plain ASGI rather than Starlette's BaseHTTPMiddleware, which would add a task and a
stream copy to every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from creditflow.api.errors import error_response
from creditflow.metrics import Metrics

MAX_JSON_BODY = 1024 * 1024


class BodySizeLimit:
    """Refuse bodies over the limit with 413 before any handler sees them."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await self._too_large(scope, receive, send, limit)
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(
            413,
            "body_too_large",
            f"The request body is larger than the {limit} bytes this endpoint takes.",
            {"limit": limit},
        )
        await response(scope, receive, send)


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # Each route's labelled series, looked up once: prometheus_client's `labels()` checks
        # and locks on every call, which cost a request more than our own engine did.
        self._counted: dict[tuple[str, str, int], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            counted = self._counted.get((method, template, status))
            if counted is None:
                counted = self.metrics.requests.labels(method, template, str(status))
                self._counted[(method, template, status)] = counted
            timed = self._timed.get((method, template))
            if timed is None:
                timed = self._timed[(method, template)] = self.metrics.latency.labels(
                    method, template
                )
            counted.inc()
            timed.observe(time.perf_counter() - started)
