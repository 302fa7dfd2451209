"""A site's webhook receiver, for real, on loopback: it keeps what it is sent, and can fail the
first deliveries, hang, redirect, or answer with an endless body."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.pg_server import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, *, failures: int = 0, behaviour: str = "ok") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.failures = failures
        """How many deliveries to answer 500 before answering 200."""
        self.behaviour = behaviour
        """`ok`, `hang` (nothing for a minute), `redirect` (301), `huge` (a 100 MB body)."""
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    failing = receiver.failures > 0
                    if failing:
                        receiver.failures -= 1
                if receiver.behaviour == "hang":
                    time.sleep(60)
                    return
                if receiver.behaviour == "redirect":
                    self._answer(301, b"moved", {"Location": f"{receiver.url}/elsewhere"})
                    return
                if receiver.behaviour == "huge":
                    self.send_response(200)
                    self.send_header("Content-Length", str(100 * 1024 * 1024))
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        for _ in range(1600):
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self._answer(500 if failing else 200, b"no" if failing else b"ok", {})

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        ThreadingHTTPServer.daemon_threads = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> list[str]:
        return [r.headers.get("webhook-id", "") for r in self.received]
