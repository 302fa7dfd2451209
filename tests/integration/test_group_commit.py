"""Group commit (issue 13): spends that arrive together share a transaction, yet each is all or
nothing on its own, and each caller's answer is its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from creditflow.clock import TestClock
from creditflow.domain.errors import (
    AccountSuspended,
    IdempotencyKeyReused,
    InsufficientCredits,
)
from creditflow.engine import Engine
from creditflow.store.connections import connections_for
from creditflow.store.group_commit import GroupCommit
from tests.factories import funded_account


def in_one_batch(engine: Engine, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` on threads of their own while the writers are held, so that they all queue
    and are written together; each call's result, or the exception it raised."""
    writers = engine.context.writers
    assert writers is not None
    outcomes: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            outcomes[n] = calls[n]()
        except Exception as error:
            outcomes[n] = error

    before = writers.batches
    with writers.paused():
        threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while sum(s.queued for s in writers.shards) < len(calls):
            assert time.monotonic() < deadline, "the calls never queued"
            time.sleep(0.005)
    for thread in threads:
        thread.join()
    # One transaction per writer that had work: the calls were written together.
    assert writers.batches - before <= len(writers.shards)
    return outcomes


def test_a_refused_spend_in_a_batch_changes_nothing_but_itself(
    engine: Engine, clock: TestClock
) -> None:
    rich = funded_account(engine, 100)
    lapsing = funded_account(engine, 5, expires_at=clock.now() + timedelta(days=1))
    engine.grant(lapsing.id, credits=3, kind="purchased", reason="what is left after expiry")
    suspended = funded_account(engine, 50)
    reused = funded_account(engine, 50)
    engine.consume(reused.id, credits=1, idempotency_key="job-1")
    engine.console.suspend_account(suspended.id, reason="chargeback", actor="test", form_id="f1")
    clock.move_to(
        clock.now() + timedelta(days=2)
    )  # the first grant of `lapsing` is now past its expiry
    before = {a.id: engine.ledger(a.id, limit=100).data for a in (lapsing, suspended, reused)}

    outcomes = in_one_batch(
        engine,
        [
            lambda: engine.consume(rich.id, credits=10),
            # Would expire 5 credits first (an entry of its own), then finds 3 too few for 4.
            lambda: engine.consume(lapsing.id, credits=4),
            lambda: engine.consume(suspended.id, credits=1),
            lambda: engine.consume(reused.id, credits=2, idempotency_key="job-1"),
            lambda: engine.consume(rich.id, credits=20),
        ],
    )

    assert [type(o).__name__ for o in outcomes] == [
        "SpendView",
        InsufficientCredits.__name__,
        AccountSuspended.__name__,
        IdempotencyKeyReused.__name__,
        "SpendView",
    ]
    assert {outcomes[0].balance.available, outcomes[4].balance.available} == {90, 70}
    assert engine.balance(rich.id).available == 70
    # The refused spend's expiry entry went with it: the ledgers are as they were.
    for account_id, entries in before.items():
        assert engine.ledger(account_id, limit=100).data == entries
    assert engine.balance(lapsing.id).available == 3
    assert engine.check() == []


def test_the_same_key_twice_in_one_batch_spends_once(engine: Engine) -> None:
    account = funded_account(engine, 100)
    first, second = in_one_batch(
        engine,
        [
            lambda: engine.consume(account.id, credits=7, idempotency_key="job-9"),
            lambda: engine.consume(account.id, credits=7, idempotency_key="job-9"),
        ],
    )
    assert first == second
    assert engine.balance(account.id).available == 93


def test_holds_captures_and_releases_share_batches_and_keep_the_ledger_whole(
    engine: Engine,
) -> None:
    account = funded_account(engine, 100)
    holds = in_one_batch(engine, [lambda: engine.hold(account.id, credits=10) for _ in range(4)])
    assert engine.balance(account.id).held == 40
    engine.release(holds[3].id)
    ends = in_one_batch(
        engine,
        [
            lambda: engine.capture(holds[0].id, credits=6),
            lambda: engine.release(holds[1].id),
            lambda: engine.capture(holds[2].id),
            lambda: engine.capture(holds[3].id),  # released before: refused, alone
            lambda: engine.consume(account.id, credits=50),
        ],
    )
    assert [getattr(o, "status", type(o).__name__) for o in ends[:4]] == [
        "captured",
        "released",
        "captured",
        "HoldNotActive",
    ]
    balance = engine.balance(account.id)
    assert (balance.available, balance.held) == (100 - 6 - 10 - 50, 0)
    assert engine.check() == []


def test_the_async_path_awaits_the_same_writer(engine: Engine) -> None:
    account = funded_account(engine, 100)

    async def spend_together() -> list[Any]:
        return await asyncio.gather(
            *(engine.consume_async(account.id, credits=3) for _ in range(10)),
            engine.consume_async(account.id, credits=1000),
            return_exceptions=True,
        )

    outcomes = asyncio.run(spend_together())
    assert isinstance(outcomes[-1], InsufficientCredits)
    assert sorted(o.balance.available for o in outcomes[:-1]) == list(range(70, 100, 3))
    balance = asyncio.run(engine.balance_async(account.id))
    assert balance.available == 70


# The writer itself, on a bare SQLite table: a database error mid-batch.


def test_a_database_error_mid_batch_redoes_the_others_alone(tmp_path: Path) -> None:
    db = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with db.begin() as connection:
        connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY)"))
        connection.execute(text("INSERT INTO rows VALUES (1)"))
    writer = GroupCommit(connections_for(db))

    def insert(row: int) -> Callable[[Connection], int]:
        def work(connection: Connection) -> int:
            connection.execute(text("INSERT INTO rows VALUES (:id)"), {"id": row})
            return row

        return work

    outcomes: list[Any] = [None] * 3

    def run(n: int, work: Callable[[Connection], int]) -> None:
        try:
            outcomes[n] = writer.run(work, order=str(n))
        except Exception as error:
            outcomes[n] = error

    works = [insert(2), insert(1), insert(3)]  # 1 is there: its INSERT fails in the database
    writer.pause()
    threads = [threading.Thread(target=run, args=(n, w)) for n, w in enumerate(works)]
    for thread in threads:
        thread.start()
    while writer.queued < 3:
        time.sleep(0.005)
    writer.resume()
    for thread in threads:
        thread.join()
    writer.close()

    assert outcomes[0] == 2 and outcomes[2] == 3
    assert "UNIQUE constraint failed" in str(outcomes[1])
    assert writer.batches == 2  # the failed batch was rolled back; the two others alone
    with db.connect() as connection:
        assert [r[0] for r in connection.execute(text("SELECT id FROM rows ORDER BY id"))] == [
            1,
            2,
            3,
        ]
    db.dispose()


def test_a_closed_writer_refuses_new_work(tmp_path: Path) -> None:
    db = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    writer = GroupCommit(connections_for(db))
    assert writer.run(lambda connection: 1) == 1
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.run(lambda connection: 2)
    db.dispose()


def test_a_retry_that_would_now_be_refused_gets_its_first_answer(engine: Engine) -> None:
    account = funded_account(engine, 100)
    first = engine.consume(account.id, credits=100, idempotency_key="all-of-it")
    # Alone: the spend would find nothing left, but the key holds the first answer.
    assert engine.consume(account.id, credits=100, idempotency_key="all-of-it") == first
    # In a batch beside a spend that is refused for real.
    again, refused = in_one_batch(
        engine,
        [
            lambda: engine.consume(account.id, credits=100, idempotency_key="all-of-it"),
            lambda: engine.consume(account.id, credits=1),
        ],
    )
    assert again == first
    assert isinstance(refused, InsufficientCredits)
    assert engine.balance(account.id).available == 0


def test_a_caller_whose_event_loop_closed_does_not_stop_the_writer(tmp_path: Path) -> None:
    db = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    writer = GroupCommit(connections_for(db))
    loop = asyncio.new_event_loop()
    writer.pause()
    waiting = loop.create_task(writer.run_async(lambda connection: "lost"))
    loop.run_until_complete(asyncio.sleep(0.01))  # queued, then the loop goes away
    waiting.cancel()
    loop.close()
    writer.resume()
    # Through the writer's thread, which must have outlived the lost caller.
    later = asyncio.run(asyncio.wait_for(writer.run_async(lambda connection: "written"), 10))
    assert later == "written"
    writer.close()
    db.dispose()
