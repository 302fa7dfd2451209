"""HTTP spends: `creditflow serve` beside the spend's raw SQL in a bare FastAPI sync endpoint.

Run from the repository root:  python3 benchmarks/serve.py [--seconds 3] [--clients 4]
                                [--rounds 3] [--workers 1] [--postgres]

Both servers run under the same uvicorn, one process each (or `--workers N` for both), on one
SQLite file with synchronous=FULL; the bare one is benchmarks/bare_spend_app.py, one durable
transaction per spend. Clients are separate processes, each with one keep-alive connection
(the standard library's http.client: cheap, so the server is what is measured), spending from
one account. Rounds are interleaved (creditflow, creditflow with a new Idempotency-Key on every
spend, bare), and each figure is the median of its rounds; p99 is the slowest 1 % of the
creditflow spends of all rounds. With `--postgres`, creditflow also runs on a PostgreSQL server
started here (fsync on), beside the same bare endpoint on SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import start_postgres  # noqa: E402  (this folder is first on the path)

from tests.pg_server import free_port  # noqa: E402

BIG = 10**11
ADMIN = "bench"


def wait_until_up(port: int, path: str) -> None:
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


def call(port: int, method: str, path: str, body: object = None) -> dict[str, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    connection.request(
        method, path, body=json.dumps(body) if body is not None else None, headers=headers
    )
    response = connection.getresponse()
    payload = json.loads(response.read())
    assert response.status < 300, payload
    return payload  # type: ignore[no-any-return]


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def creditflow_server(port: int, url: str, workers: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "creditflow", "serve", "--port", str(port), "--db", url]
    if workers > 1:
        command += ["--workers", str(workers)]
    return start(command, {**os.environ, "CREDITFLOW_ADMIN_KEY": ADMIN})


def bare_server(port: int, path: str, workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "bare_spend_app:app", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--workers", str(workers),
    ]  # fmt: skip
    env = {**os.environ, "BARE_SPEND_DB": path, "PYTHONPATH": str(ROOT / "benchmarks")}
    return start(command, env)


def client_loop(
    port: int, path: str, body: bytes, keyed: bool, seconds: float, start_at: float, out: object
) -> None:
    """One client: spend in a loop on one keep-alive connection; report count and latencies."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.perf_counter() + seconds
    while (began := time.perf_counter()) < deadline:
        if keyed:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: {response.status}")
        latencies.append(time.perf_counter() - began)
    out.put(latencies)  # type: ignore[attr-defined]


def load(port: int, path: str, *, clients: int, seconds: float, keyed: bool = False,
         body: bytes = b'{"credits": 1}') -> tuple[float, list[float]]:  # fmt: skip
    """Spends per second of `clients` client processes together, and every spend's latency."""
    out: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    start_at = time.time() + 0.5
    processes = [
        multiprocessing.Process(
            target=client_loop, args=(port, path, body, keyed, seconds, start_at, out)
        )
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    latencies = [latency for _ in processes for latency in out.get()]
    for process in processes:
        process.join()
    return len(latencies) / seconds, latencies


def p99_ms(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="creditflow-bench-serve-")
    db_path = os.path.join(folder, "serve.db")
    targets = [("SQLite FULL", f"sqlite:///{db_path}")]
    stop_postgres = None
    if args.postgres:
        pg_url, stop_postgres = start_postgres()
        targets.append(("PostgreSQL", pg_url))

    servers: list[subprocess.Popen[bytes]] = []
    try:
        ports = {}
        for name, url in targets:
            port = free_port()
            servers.append(creditflow_server(port, url, args.workers))
            wait_until_up(port, "/healthz")
            account = call(
                port, "POST", "/v1/accounts", {"external_id": "bench", "email": "b@example.com"}
            )
            call(port, "POST", f"/v1/accounts/{account['id']}/grants",
                 {"credits": BIG, "kind": "purchased", "reason": "bench"})  # fmt: skip
            ports[name] = (port, f"/v1/accounts/{account['id']}/consume")
        bare_account = call(ports["SQLite FULL"][0], "POST", "/v1/accounts",
                            {"external_id": "bare", "email": "bare@example.com"})  # fmt: skip
        grant = call(ports["SQLite FULL"][0], "POST", f"/v1/accounts/{bare_account['id']}/grants",
                     {"credits": BIG, "kind": "purchased", "reason": "bench"})  # fmt: skip
        bare_port = free_port()
        servers.append(bare_server(bare_port, db_path, args.workers))
        wait_until_up(bare_port, "/docs")
        bare_path = f"/spend/{bare_account['id']}/{grant['id']}"

        rates: dict[str, list[float]] = {}
        latencies: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, (port, path) in ports.items():
                for keyed in (False, True):
                    label = f"{name}{', keyed' if keyed else ''}"
                    rate, spent = load(
                        port, path, clients=args.clients, seconds=args.seconds, keyed=keyed
                    )
                    rates.setdefault(label, []).append(rate)
                    latencies.setdefault(label, []).extend(spent)
            rate, spent = load(bare_port, bare_path, clients=args.clients, seconds=args.seconds)
            rates.setdefault("bare", []).append(rate)
            latencies.setdefault("bare", []).extend(spent)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        if stop_postgres is not None:
            stop_postgres()

    bare = statistics.median(rates["bare"])
    print(
        f"HTTP spends, {args.clients} keep-alive clients, {args.workers} worker process(es), "
        f"{args.rounds} rounds of {args.seconds:g} s (medians)"
    )
    print(f"  bare FastAPI sync endpoint, raw spend SQL (SQLite FULL) {bare:8.0f}/s   "
          f"p99 {p99_ms(latencies['bare']):6.1f} ms")  # fmt: skip
    for name in ports:
        plain = statistics.median(rates[name])
        keyed = statistics.median(rates[f"{name}, keyed"])
        print(
            f"  creditflow serve, {name:<12} {plain:8.0f}/s   {plain / bare:.2f}x bare   "
            f"p99 {p99_ms(latencies[name]):6.1f} ms"
        )
        print(
            f"  creditflow serve, {name + ', keyed':<12} {keyed:8.0f}/s   {keyed / plain:.2f} of "
            f"unkeyed   p99 {p99_ms(latencies[name + ', keyed']):6.1f} ms"
        )


if __name__ == "__main__":
    main()
