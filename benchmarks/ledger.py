"""Spend throughput and latency: creditflow's Python API and HTTP service beside the bare driver.

Run from the repository root:  python3 benchmarks/ledger.py [--seconds 3] [--skip-postgres]
(HTTP spends are measured by benchmarks/serve.py.)

Every figure is measured in this run, on the same database file or server as its raw baseline:
the raw baseline issues the very statements a spend through the engine issues (lock the
account, read its live grants, guarded update of the grant, update of the account's cached sums,
insert of the entry, commit), with sqlite3 or psycopg in a plain loop. SQLite runs with
synchronous=FULL, as the service does by default; PostgreSQL runs with fsync on.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditflow.engine import Engine
from creditflow.ids import new_id

NOW = datetime(2026, 11, 22, tzinfo=UTC)
BIG = 10**11


def rate(run_for: float, spend: Callable[[], None]) -> float:
    """Spends per second of `spend` called in a loop for `run_for` seconds."""
    done = 0
    started = time.perf_counter()
    deadline = started + run_for
    while time.perf_counter() < deadline:
        spend()
        done += 1
    return done / (time.perf_counter() - started)


def threaded_rate(
    run_for: float, spends: list[Callable[[], None]], latencies: list[float] | None = None
) -> float:
    """Spends per second of `spends` each looping on a thread of its own; each spend's time
    goes into `latencies` when given."""
    counts = [0] * len(spends)
    stop = threading.Event()
    barrier = threading.Barrier(len(spends) + 1)

    def loop(i: int) -> None:
        barrier.wait()
        timed: list[float] = []
        while not stop.is_set():
            began = time.perf_counter()
            spends[i]()
            timed.append(time.perf_counter() - began)
            counts[i] += 1
        if latencies is not None:
            latencies.extend(timed)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(spends))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    time.sleep(run_for)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def p99_ms(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000


def funded(engine: Engine) -> tuple[str, str]:
    account = engine.create_account(external_id=new_id("bench"), email="bench@example.com")
    grant = engine.grant(account.id, credits=BIG, kind="purchased", reason="benchmark")
    return account.id, grant.id


ENTRY_COLUMNS = (
    "transaction_id, account_id, type, grant_id, kind, debit_account, credit_account, amount, "
    "available_delta, held_delta, available_after, held_after, hold_id, reason, reference, at"
)


def entry_row(account: str, grant: str, after: int) -> tuple[object, ...]:
    return (
        new_id("txn"),
        account,
        "consume",
        grant,
        "purchased",
        f"grant:{grant}",
        f"spent:{account}",
        1,
        -1,
        0,
        after,
        0,
        None,
        None,
        None,
        "2026-11-22 00:00:00.000000",
    )


# SQLite


def sqlite_raw_spend(path: str) -> tuple[Callable[[], None], Callable[[], None]]:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA busy_timeout=60000")
    account = new_id("acc")
    grant = new_id("grt")
    connection.execute(
        "INSERT INTO accounts (id, external_id, email, status, available, held, created_at) "
        "VALUES (?, ?, 'raw@example.com', 'active', ?, 0, '2026-11-22 00:00:00.000000')",
        (account, account, BIG),
    )
    connection.execute(
        "INSERT INTO grants (id, account_id, kind, granted, remaining, held, priority, channel, "
        "source_type, created_at) VALUES (?, ?, 'purchased', ?, ?, 0, 50, 'any', 'raw', "
        "'2026-11-22 00:00:00.000000')",
        (grant, account, BIG, BIG),
    )

    def spend() -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("SELECT * FROM accounts WHERE id = ?", (account,)).fetchone()
        connection.execute(
            "SELECT * FROM grants WHERE account_id = ? AND (remaining > 0 OR held > 0)", (account,)
        ).fetchall()
        connection.execute(
            "UPDATE grants SET remaining = remaining + ?, held = held + ? "
            "WHERE id = ? AND remaining + ? >= 0 AND held + ? >= 0",
            (-1, 0, grant, -1, 0),
        )
        after = connection.execute(
            "UPDATE accounts SET available = available + ?, held = held + ? WHERE id = ? "
            "RETURNING available, held",
            (-1, 0, account),
        ).fetchone()
        connection.execute(
            f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 16)})",
            entry_row(account, grant, after[0]),
        )
        connection.execute("COMMIT")

    return spend, connection.close


def bench_sqlite(seconds: float) -> dict[str, float]:
    folder = tempfile.mkdtemp(prefix="creditflow-bench-")
    path = os.path.join(folder, "bench.db")
    engine = Engine(database_url=f"sqlite:///{path}")
    account, _grant = funded(engine)
    # Latency with a small ledger first (about 10^3 entries), before the throughput runs add more.
    results = {"latency_1e3_ms": spend_latency_ms(engine, account, 1000)}
    results["balance_1e3_ms"] = balance_latency_ms(engine, account, 300)
    raw_spend, raw_close = sqlite_raw_spend(path)

    def api_spend() -> None:
        engine.consume(account, credits=1)

    def keyed_spend() -> None:  # each with a new Idempotency-Key, stored with the spend
        engine.consume(account, credits=1, idempotency_key=new_id("key"))

    # Eight threads, each spending from an account of its own: what group commit buys.
    accounts = [funded(engine)[0] for _ in range(8)]
    threads = [lambda a=a: engine.consume(a, credits=1) for a in accounts]  # type: ignore[misc]
    api_rates, raw_rates, keyed_rates, threaded_rates = [], [], [], []
    latencies: list[float] = []
    for _ in range(2):  # interleave, so drift on a shared machine hits both alike
        api_rates.append(rate(seconds, api_spend))
        keyed_rates.append(rate(seconds, keyed_spend))
        raw_rates.append(rate(seconds, raw_spend))
        threaded_rates.append(threaded_rate(seconds, threads, latencies))
    results.update(api=max(api_rates), raw=max(raw_rates), keyed=max(keyed_rates))
    results.update(api_8=max(threaded_rates), p99_8_ms=p99_ms(latencies))

    # Then with a million entries on the same account.
    fill_entries(path, account, target=1_000_000)
    results["latency_1e6_ms"] = spend_latency_ms(engine, account, 1000)
    results["balance_1e6_ms"] = balance_latency_ms(engine, account, 300)
    raw_close()
    engine.close()
    return results


def fill_entries(path: str, account: str, *, target: int) -> None:
    connection = sqlite3.connect(path)
    have = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    grant = connection.execute("SELECT id FROM grants WHERE account_id = ?", (account,)).fetchone()[
        0
    ]
    batch = [entry_row(account, grant, BIG) for _ in range(10_000)]
    for _ in range((target - have) // len(batch)):
        connection.executemany(
            f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 16)})", batch
        )
    connection.commit()
    connection.close()


def spend_latency_ms(engine: Engine, account: str, n: int) -> float:
    for _ in range(n // 10):  # warm the caches and the connection pool first
        engine.consume(account, credits=1)
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        engine.consume(account, credits=1)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def balance_latency_ms(engine: Engine, account: str, n: int) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        engine.balance(account)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


# PostgreSQL


def pg_raw_spend(
    url: str, account: str, grant: str
) -> tuple[Callable[[], None], Callable[[], None]]:
    connection = psycopg.connect(url)

    def spend() -> None:
        with connection.transaction():
            connection.execute(
                "SELECT * FROM accounts WHERE id = %s FOR UPDATE", (account,)
            ).fetchone()
            connection.execute(
                "SELECT * FROM grants WHERE account_id = %s AND (remaining > 0 OR held > 0)",
                (account,),
            ).fetchall()
            connection.execute(
                "UPDATE grants SET remaining = remaining + %s, held = held + %s "
                "WHERE id = %s AND remaining + %s >= 0 AND held + %s >= 0",
                (-1, 0, grant, -1, 0),
            )
            after = connection.execute(
                "UPDATE accounts SET available = available + %s, held = held + %s WHERE id = %s "
                "RETURNING available, held",
                (-1, 0, account),
            ).fetchone()
            assert after is not None
            row = list(entry_row(account, grant, after[0]))
            row[-1] = NOW
            connection.execute(
                f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({', '.join(['%s'] * 16)})", row
            )

    return spend, connection.close


def bench_postgres(url: str, seconds: float) -> dict[str, float]:
    engine = Engine(database_url=url, pool_size=10)
    account, grant = funded(engine)
    results: dict[str, float] = {"latency_1e3_ms": spend_latency_ms(engine, account, 1000)}
    results["balance_1e3_ms"] = balance_latency_ms(engine, account, 300)
    for clients in (1, 8):
        pairs = [funded(engine) for _ in range(clients)]
        api = [lambda a=a: engine.consume(a, credits=1) for a, _ in pairs]  # type: ignore[misc]
        raws = [pg_raw_spend(url, *funded(engine)) for _ in range(clients)]
        api_rates, raw_rates = [], []
        latencies: list[float] = []
        for _ in range(2):
            api_rates.append(threaded_rate(seconds, api, latencies))
            raw_rates.append(threaded_rate(seconds, [spend for spend, _ in raws]))
        for _, close in raws:
            close()
        results[f"api_{clients}"] = max(api_rates)
        results[f"raw_{clients}"] = max(raw_rates)
        results[f"p99_{clients}_ms"] = p99_ms(latencies)
    fill_postgres_entries(url, account, grant, target=1_000_000)
    results["latency_1e6_ms"] = spend_latency_ms(engine, account, 1000)
    results["balance_1e6_ms"] = balance_latency_ms(engine, account, 300)
    engine.close()
    return results


def fill_postgres_entries(url: str, account: str, grant: str, *, target: int) -> None:
    with psycopg.connect(url) as connection:
        count = connection.execute("SELECT count(*) FROM entries").fetchone()
        have = count[0] if count else 0
        row = list(entry_row(account, grant, BIG))
        row[-1] = NOW
        with connection.cursor().copy(f"COPY entries ({ENTRY_COLUMNS}) FROM STDIN") as copy:
            for _ in range(target - have):
                row[0] = new_id("txn")
                copy.write_row(row)
        connection.commit()
        # A ledger that grew to 10^6 entries over months has been checkpointed and vacuumed
        # many times; measure that steady state, not the write burst of the bulk load.
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE entries")
        connection.execute("CHECKPOINT")


def start_postgres() -> tuple[str, Callable[[], None]]:
    from tests.pg_server import PostgresServer

    server = PostgresServer(Path(tempfile.mkdtemp(prefix="creditflow-bench-pg-")), fsync=True)
    server.start()
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE bench")
    return server.url_for("bench"), server.stop


# Webhooks


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        return None


def bench_webhooks(seconds: float, events: int) -> dict[str, float]:
    """Spends and grants with one endpoint taking every event, beside none, interleaved; then
    deliveries per second from the outbox to a loopback receiver, beside bare httpx POSTs of
    the same bodies to it."""
    folder = tempfile.mkdtemp(prefix="creditflow-bench-")
    engine = Engine(
        database_url=f"sqlite:///{os.path.join(folder, 'hooks.db')}",
        environ={"CREDITFLOW_WEBHOOKS_ALLOW_PRIVATE": "1"},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    account, _grant = funded(engine)

    def spend() -> None:
        engine.consume(account, credits=1)

    def grant() -> None:
        engine.grant(account, credits=1, kind="promo", reason="bench")

    figures: dict[str, list[float]] = {}
    for _ in range(2):
        for name, work in (("spend", spend), ("grant", grant)):
            figures.setdefault(f"{name}_without", []).append(rate(seconds, work))
            endpoint = engine.create_webhook_endpoint(url=url, events=["*"])
            figures.setdefault(f"{name}_with", []).append(rate(seconds, work))
            engine.delete_webhook_endpoint(endpoint.id)
    results = {name: max(rates) for name, rates in figures.items()}

    engine.create_webhook_endpoint(url=url, events=["account.created"])
    for n in range(events):
        engine.create_account(external_id=f"hook-{n}", email="hook@example.com")
    started = time.perf_counter()
    delivered = 0
    while sent := engine.deliver_webhooks(limit=500):
        delivered += sent
    results["deliveries"] = delivered / (time.perf_counter() - started)
    bodies = [e.model_dump_json() for e in engine.events(type="account.created", limit=500).data]
    with httpx.Client() as client:
        started = time.perf_counter()
        for n in range(events):
            client.post(url, content=bodies[n % len(bodies)], headers={"webhook-id": str(n)})
        results["raw_posts"] = events / (time.perf_counter() - started)
    server.shutdown()
    engine.close()
    return results


def print_latencies(figures: dict[str, float]) -> None:
    for what, key in (("spend latency (median)", "latency"), ("balance read (median) ", "balance")):
        small, large = figures[f"{key}_1e3_ms"], figures[f"{key}_1e6_ms"]
        print(
            f"  {what}   at 1e3 entries {small:.3f} ms   at 1e6 entries {large:.3f} ms   "
            f"ratio {large / small:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each timed run")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", help="use this server instead of starting one")
    parser.add_argument("--events", type=int, default=2000, help="events to deliver")
    args = parser.parse_args()

    print("SQLite, synchronous=FULL, one thread")
    sq = bench_sqlite(args.seconds)
    print(
        f"  spends/s   Python API {sq['api']:8.0f}   raw sqlite3 {sq['raw']:8.0f}   "
        f"ratio {sq['api'] / sq['raw']:.2f}"
    )
    print(
        f"  spends/s   with an idempotency key {sq['keyed']:8.0f}   "
        f"keyed / unkeyed {sq['keyed'] / sq['api']:.2f}"
    )
    print(
        f"  spends/s   Python API, 8 threads {sq['api_8']:8.0f}   raw sqlite3 (1 thread, 1 tx per "
        f"spend) {sq['raw']:8.0f}   ratio {sq['api_8'] / sq['raw']:.2f}   "
        f"p99 {sq['p99_8_ms']:.1f} ms"
    )
    print_latencies(sq)

    if not args.skip_postgres:
        url, stop = (args.postgres_url, lambda: None) if args.postgres_url else start_postgres()
        try:
            pg = bench_postgres(url, args.seconds)
        finally:
            stop()
        print("PostgreSQL, fsync on, loopback")
        for clients in (1, 8):
            api, raw = pg[f"api_{clients}"], pg[f"raw_{clients}"]
            print(
                f"  {clients} client(s)  spends/s   Python API {api:8.0f}   raw psycopg {raw:8.0f}"
                f"   ratio {api / raw:.2f}   p99 {pg[f'p99_{clients}_ms']:.1f} ms"
            )
        print_latencies(pg)

    print("Webhooks (SQLite FULL; one endpoint taking every event, to a loopback receiver)")
    hooks = bench_webhooks(args.seconds, args.events)
    for name in ("spend", "grant"):
        without, with_ = hooks[f"{name}_without"], hooks[f"{name}_with"]
        print(
            f"  {name}s/s   no endpoint {without:8.0f}   with one {with_:8.0f}   "
            f"ratio {with_ / without:.2f}"
        )
    print(
        f"  deliveries/s {hooks['deliveries']:8.0f}   bare httpx POSTs/s {hooks['raw_posts']:8.0f}"
        f"   ratio {hooks['deliveries'] / hooks['raw_posts']:.2f}"
    )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak resident memory of this process {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
