"""Recorded provider payloads and how each provider signs them, for the adapter tests."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "providers"


def payload(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / f"{name}.json").read_bytes()


def recorded(provider: str, name: str) -> Any:
    return json.loads(payload(provider, name))


def stripe_header(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def paddle_header(body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}:".encode() + body, hashlib.sha256)
    return f"ts={timestamp};h1={mac.hexdigest()}"


def creem_header(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def reserialized(body: bytes) -> bytes:
    """The same JSON written again: equal as data, different as bytes."""
    return json.dumps(json.loads(body), indent=1).encode()


def one_byte_changed(body: bytes) -> bytes:
    return body.replace(b'"', b"'", 1) if body.count(b'"') else body + b" "


class Recorder:
    """An httpx transport that answers from recordings and keeps what was sent."""

    def __init__(self, answers: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers[(request.method, request.url.path)]
        return httpx.Response(status, json=body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))
