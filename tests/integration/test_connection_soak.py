"""Connections come back when a unit of work ends, whatever thread it ran on (issue 9).

The server's sync endpoints run on anyio's worker threads, which end after ten idle seconds and
are replaced by new ones at the next burst of requests. A connection kept by a thread that ended
was never returned: a few bursts after quiet spells and the pool was dry, and every spend waited
out the pool's 30 s time-out. These tests run many more threads, one after another and all at
once, than the pool can lend connections, and watch the connections that stay open.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from anyio._backends._asyncio import WorkerThread
from sqlalchemy import event
from sqlalchemy.engine import make_url

from creditflow.api.app import create_app
from creditflow.engine import Engine
from creditflow.mail.transports import EmlFolderTransport
from tests.factories import funded_account
from tests.pg_server import free_port

ADMIN_KEY = "soak-admin-secret"
POOL_SIZE = 2
THREADS = 40
"""Far more than the pool lends at once: pool_size + max_overflow is 2 + 8 on SQLite, 2 + 2 on
PostgreSQL."""


def small_pool_engine(database_url: str, tmp_path: Path, *, pool_size: int) -> Engine:
    return Engine(
        database_url=database_url,
        pool_size=pool_size,
        data_dir=tmp_path / "data",
        mail_transport=EmlFolderTransport(tmp_path / "mail"),
    )


@pytest.fixture
def open_connections(database_url: str) -> Iterator[Callable[[], int]]:
    """Counts the connections open to this test's database: this process's file handles on the
    SQLite file, or the server's backends on the PostgreSQL database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not os.path.isdir("/proc/self/fd"):
            pytest.skip("counting SQLite's connections needs /proc/self/fd")
        assert url.database is not None
        path = os.path.realpath(url.database)

        def handles() -> int:
            count = 0
            for fd in os.listdir("/proc/self/fd"):
                with suppress(OSError):  # closed since it was listed
                    count += os.readlink(f"/proc/self/fd/{fd}") == path
            return count

        yield handles
        return

    # One connection, to another database, asks every time: a fresh one per question would
    # count the backend of the one before, which leaves a moment after its client does.
    maintenance = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(
        maintenance.render_as_string(hide_password=False), autocommit=True
    ) as monitor:

        def backends() -> int:
            row = monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (url.database,)
            ).fetchone()
            assert row is not None
            return int(row[0])

        yield lambda: settled(backends)


def settled(read: Callable[[], int]) -> int:
    """A count that held for three readings 20 ms apart (a pool may have just closed one)."""
    readings = [read()]
    for _ in range(100):
        time.sleep(0.02)
        readings = [*readings[-2:], read()]
        if readings == [readings[0]] * 3:
            break
    return readings[-1]


def test_threads_that_end_give_their_connections_back(
    database_url: str, tmp_path: Path, open_connections: Callable[[], int]
) -> None:
    with small_pool_engine(database_url, tmp_path, pool_size=POOL_SIZE) as engine:
        account = funded_account(engine, 1000)
        pool = engine.db.pool

        def spend_on_a_thread_of_its_own() -> tuple[int, int]:
            """(checked out of the pool, open) once the thread has spent and ended."""
            thread = threading.Thread(target=lambda: engine.consume(account.id, credits=1))
            thread.start()
            thread.join(timeout=60)
            assert not thread.is_alive()
            return pool.checkedout(), open_connections()  # type: ignore[attr-defined]

        first = spend_on_a_thread_of_its_own()
        for n in range(2, THREADS + 1):
            now = spend_on_a_thread_of_its_own()
            assert now == first, f"after thread {n}, (checked out, open) is {now}, not {first}"
        assert first[0] <= POOL_SIZE
        assert engine.balance(account.id).available == 1000 - THREADS


def test_more_threads_than_the_pool_lends_all_get_their_turn(
    database_url: str, tmp_path: Path
) -> None:
    """No thread keeps an idle connection from another: each waits only for a unit of work."""
    with small_pool_engine(database_url, tmp_path, pool_size=POOL_SIZE) as engine:
        account = funded_account(engine, 1000)
        barrier = threading.Barrier(THREADS)
        errors: list[BaseException] = []

        def spend() -> None:
            barrier.wait()
            try:
                for _ in range(3):
                    engine.consume(account.id, credits=1)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=spend) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        assert engine.balance(account.id).available == 1000 - 3 * THREADS
        assert engine.db.pool.checkedout() <= POOL_SIZE  # type: ignore[attr-defined]


class BeginRefused(Exception):
    pass


def test_a_unit_of_work_that_cannot_begin_gives_its_connection_back(
    database_url: str, tmp_path: Path
) -> None:
    """As when SQLite's BEGIN IMMEDIATE gives up waiting for the write lock."""
    with small_pool_engine(database_url, tmp_path, pool_size=POOL_SIZE) as engine:
        account = funded_account(engine, 100)

        def refuse(_connection: object) -> None:
            raise BeginRefused

        event.listen(engine.db, "begin", refuse)
        for _ in range(THREADS):
            with pytest.raises(BeginRefused):
                engine.consume(account.id, credits=1)
        event.remove(engine.db, "begin", refuse)

        assert engine.db.pool.checkedout() <= POOL_SIZE  # type: ignore[attr-defined]
        engine.consume(account.id, credits=1)
        assert engine.balance(account.id).available == 99


# Through a real HTTP server, in bursts separated by quiet spells


SOAK_POOL_SIZE = 1
"""pool_size + max_overflow is 1 + 4 on SQLite: a connection kept per thread ran out in the second
burst."""
CLIENTS = 4
SPENDS_PER_CLIENT = 5
BURSTS = 3
QUIET = WorkerThread.MAX_IDLE_TIME + 1.0
"""Longer than anyio lets an idle worker thread live: the next burst ends all but one of them."""


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    app = create_app(
        engine,
        admin_key=ADMIN_KEY,
        due_work_interval=None,
        mail_interval=None,
        webhook_interval=None,
    )
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def client(base: str) -> httpx.Client:
    # Well under the pool's 30 s time-out, so a dry pool fails the burst rather than stalling it.
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)


def burst_of_spends(base: str, account_id: str) -> list[str]:
    """Every client's spends at once, each client on its own keep-alive connection."""
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def spend() -> None:
        with client(base) as http:
            barrier.wait()
            for _ in range(SPENDS_PER_CLIENT):
                try:
                    response = http.post(f"/v1/accounts/{account_id}/consume", json={"credits": 1})
                    outcome = str(response.status_code)
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=spend) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.slow
def test_bursts_after_quiet_spells_keep_spending_on_a_small_pool(
    database_url: str, tmp_path: Path, open_connections: Callable[[], int]
) -> None:
    with (
        small_pool_engine(database_url, tmp_path, pool_size=SOAK_POOL_SIZE) as engine,
        serving(engine) as base,
        client(base) as http,
    ):
        made = http.post("/v1/accounts", json={"external_id": "soak", "email": "s@example.com"})
        assert made.status_code == 201, made.text
        account_id = made.json()["id"]
        grant = {"credits": 1000, "kind": "purchased", "reason": "soak"}
        assert http.post(f"/v1/accounts/{account_id}/grants", json=grant).status_code == 201

        open_after: list[int] = []
        for burst in range(1, BURSTS + 1):
            if burst > 1:
                time.sleep(QUIET)
            outcomes = burst_of_spends(base, account_id)
            failed = [outcome for outcome in outcomes if outcome != "200"]
            assert failed == [], (
                f"burst {burst} of {BURSTS}: {len(failed)} of {len(outcomes)} spends failed "
                f"({sorted(set(failed))}); connections open after each earlier burst: {open_after}"
            )
            open_after.append(open_connections())

        balance = http.get(f"/v1/accounts/{account_id}/balance").json()
        assert balance["available"] == 1000 - BURSTS * CLIENTS * SPENDS_PER_CLIENT
        # SQLite keeps the file handle of a closed connection while others hold locks on the
        # file, and reuses it for the next one opened: handles count the most connections ever
        # open at once (one per client here). Either way, not a new one per burst.
        assert open_after == [open_after[0]] * BURSTS, open_after
        assert engine.db.pool.checkedout() <= SOAK_POOL_SIZE  # type: ignore[attr-defined]
