"""A stand-in for Stripe's API over real HTTP on loopback, that can be taken down and brought up.

It answers `POST /v1/checkout/sessions` and `POST /v1/refunds` from the recorded responses, as
Stripe does: the same `Idempotency-Key` gets the same object back (Stripe's idempotency), and it
keeps every request it was sent. Down, it answers 503 (or, stopped, nothing listens at all).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.pg_server import free_port
from tests.providers import recorded


@dataclass(frozen=True)
class Sent:
    path: str
    idempotency_key: str | None
    form: dict[str, str]


class StripeApi:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.down = False
        self.refusing = False
        """Answer 400 as Stripe does to a refund it will never make (already refunded)."""
        self.requests: list[Sent] = []
        self.objects: dict[str, dict[str, Any]] = {}
        """What each idempotency key got: a retried call gets the same object back."""
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> StripeApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                key = self.headers.get("Idempotency-Key")
                api.requests.append(Sent(self.path, key, form))
                if api.down:
                    self._answer(503, {"error": {"type": "api_error", "message": "down"}})
                    return
                if api.refusing:
                    error = recorded("stripe", "response.error")
                    self._answer(400, error)
                    return
                if key is None or key not in api.objects:
                    api.objects[key or str(len(api.requests))] = api.make(self.path, form)
                self._answer(200, api.objects[key or str(len(api.requests))])

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def make(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        n = len(self.objects) + 1
        if path == "/v1/checkout/sessions":
            session = recorded("stripe", "response.checkout_session")
            session["id"] = f"cs_test_{n}"
            session["url"] = f"https://checkout.stripe.com/c/pay/cs_test_{n}"
            return dict(session)
        refund = recorded("stripe", "response.refund")
        refund.update(id=f"re_{n}", amount=int(form["amount"]), status="succeeded")
        return dict(refund)

    def refunds_made(self) -> int:
        return sum(1 for made in self.objects.values() if made["object"] == "refund")

    def calls_to(self, path: str) -> list[Sent]:
        return [r for r in self.requests if r.path == path]
