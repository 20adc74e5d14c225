"""Limits applied before GraphQL parses a request: body size and request rate per API key.

``BodySizeLimit`` responds with 413 when a body exceeds ``IOTGRAPH_MAX_BODY_BYTES``,
whether the client announced the length or streamed the body in chunks.
``RateLimiter`` is a token bucket per API key (per client address for
requests without a valid key): ``IOTGRAPH_RATE_LIMIT`` requests a minute
with bursts of ``IOTGRAPH_RATE_BURST``; an exhausted bucket responds with 429
and ``Retry-After``. Both respond in the GraphQL error shape, with
``extensions.code`` PAYLOAD_TOO_LARGE or RATE_LIMITED.

NOTE: the buckets live in one server process; with several API processes
each enforces the limit on its own.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from api.audit import AuditLog, AuditRecord

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Buckets idle this long are forgotten, so one-off clients do not accumulate.
_IDLE_BUCKET_SECONDS = 600.0


def error_body(message: str, code: str) -> bytes:
    return json.dumps({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}).encode("utf-8")


class RateLimited(Exception):
    """A request over its key's rate; ``retry_after`` is whole seconds until a token is free."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """Token buckets by key: ``per_minute`` tokens a minute, at most ``burst`` saved up; 0 per minute turns it off."""

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 0 or burst < 1:
            raise ValueError(f"invalid rate limit {per_minute}/min with burst {burst}: expected per_minute >= 0 and burst >= 1")
        self.per_minute = per_minute
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._last_sweep = clock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def take(self, key: str) -> None:
        """Spend one token of ``key``'s bucket; raise RateLimited when it is empty."""
        if not self.enabled:
            return
        rate = self.per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                retry_after = max(1, math.ceil((1.0 - tokens) / rate))
                raise RateLimited(
                    f"rate limit of {self.per_minute} requests per minute (bursts of {self.burst}) exceeded for {key}; "
                    f"retry after {retry_after}s, or ask an admin to raise IOTGRAPH_RATE_LIMIT",
                    retry_after=retry_after,
                )
            self._buckets[key] = (tokens - 1.0, now)
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < _IDLE_BUCKET_SECONDS:
            return
        self._last_sweep = now
        for key in [key for key, (_, updated) in self._buckets.items() if now - updated > _IDLE_BUCKET_SECONDS]:
            del self._buckets[key]


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """ASGI middleware that rejects HTTP request bodies larger than ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, audit: AuditLog | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(scope, send, size=f"{declared} bytes")
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await self._reject(scope, send, size=f"more than {self.max_bytes} bytes")

    async def _reject(self, scope: Scope, send: Send, *, size: str) -> None:
        message = (
            f"request body of {size} exceeds the limit of {self.max_bytes} bytes (IOTGRAPH_MAX_BODY_BYTES); "
            "send a smaller query or fewer variables"
        )
        body = error_body(message, "PAYLOAD_TOO_LARGE")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.audit is not None:
            client = scope.get("client")
            self.audit.write(
                AuditRecord(
                    ts=time.time(),
                    request_id="-",
                    key_id=None,
                    role=None,
                    operation=str(scope.get("path", "-")),
                    outcome="too_large",
                    status=413,
                    client=None if not client else str(client[0]),
                )
            )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
