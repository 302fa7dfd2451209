"""On the real clock, the background loop works the due-work queue by itself."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from creditflow.clock import SystemClock, TestClock
from creditflow.engine import Engine
from creditflow.scheduler import due_work_loop
from creditflow.services import due_work
from creditflow.services.credits import EXPIRE_GRANT
from creditflow.store import tables
from creditflow.store.database import SQLITE_CACHE_KIB
from creditflow.store.uow import UnitOfWork
from tests.factories import make_account


def test_the_background_loop_expires_grants_and_times_out_holds_on_the_real_clock(
    database_url: str,
) -> None:
    clock = SystemClock()
    with Engine(database_url=database_url, clock=clock) as engine:
        account = make_account(engine)
        engine.grant(account.id, credits=10, kind="purchased", reason="stays")
        engine.grant(
            account.id,
            credits=40,
            kind="promo",
            reason="lapses",
            expires_at=clock.now() + timedelta(seconds=1),
        )
        hold = engine.hold(account.id, credits=5, expires_in_seconds=1)
        loop = due_work_loop(engine, interval=0.05)
        loop.start()
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                types = [e.type for e in engine.ledger(account.id).data]
                if "expire" in types and engine.get_hold(hold.id).status == "released":
                    break
                time.sleep(0.05)
        finally:
            loop.stop()
        assert engine.get_hold(hold.id).release_reason == "timeout"
        balance = engine.balance(account.id)
        assert (balance.available, balance.held) == (10, 0)
        assert engine.check() == []


def test_due_items_are_worked_many_to_a_transaction_each_exactly_once(
    engine: Engine, clock: TestClock
) -> None:
    accounts = [make_account(engine) for _ in range(3)]
    for n in range(250):  # more than one transaction's worth
        engine.grant(
            accounts[n % 3].id,
            credits=2,
            kind="promo",
            reason="lapses",
            expires_at=clock.now() + timedelta(hours=1, seconds=n),
        )
    view = engine.advance_clock(seconds=2 * 3600)
    assert view.processed == 250
    expired = [
        e for a in accounts for e in engine.ledger(a.id, limit=200).data if e.type == "expire"
    ]
    assert len(expired) == 250
    assert {engine.balance(a.id).available for a in accounts} == {0}
    assert engine.advance_clock(seconds=3600).processed == 0
    assert engine.saved_test_clock() == clock.now()
    assert engine.check() == []


def test_items_read_ahead_give_way_to_work_queued_or_taken_off_by_the_items_before_them(
    engine: Engine, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_account(engine)
    start = clock.now()
    grants = _lapsing_grants(
        engine, account.id, [start + timedelta(hours=1, seconds=10 * n) for n in range(5)]
    )
    expire = due_work.HANDLERS[EXPIRE_GRANT]
    worked: list[str] = []

    def expire_and_requeue(context: object, uow: UnitOfWork, now: object, subject: str) -> None:
        worked.append(subject)
        if subject == grants[0]:  # queues work due before the next item, and drops a later one
            uow.due_work.schedule(
                task=EXPIRE_GRANT,
                subject_id="grt_queued_meanwhile",
                due_at=start + timedelta(hours=1, seconds=5),
                now=start,
            )
            uow.due_work.cancel(task=EXPIRE_GRANT, subject_id=grants[3])
        expire(context, uow, now, subject)  # type: ignore[arg-type]

    monkeypatch.setitem(due_work.HANDLERS, EXPIRE_GRANT, expire_and_requeue)
    assert engine.advance_clock(seconds=2 * 3600).processed == 5
    assert worked == [grants[0], "grt_queued_meanwhile", grants[1], grants[2], grants[4]]
    expired = [e.grant_id for e in engine.ledger(account.id).data if e.type == "expire"]
    assert sorted(expired) == sorted([grants[0], grants[1], grants[2], grants[4]])


def test_work_that_queues_its_own_item_again_leaves_one_item_at_the_time_queued_last(
    engine: Engine, clock: TestClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_account(engine)
    start = clock.now()
    [grant] = _lapsing_grants(engine, account.id, [start + timedelta(hours=1)])
    expire = due_work.HANDLERS[EXPIRE_GRANT]

    def put_off_once(context: object, uow: UnitOfWork, now: datetime, subject: str) -> None:
        if now >= start + timedelta(hours=4):
            expire(context, uow, now, subject)  # type: ignore[arg-type]
            return
        # Its own item is off the queue now; what it queues after is what stays.
        queue = uow.due_work
        queue.reschedule(
            task=EXPIRE_GRANT, subject_id=subject, due_at=start + timedelta(hours=3), now=now
        )
        queue.cancel(task=EXPIRE_GRANT, subject_id=subject)
        queue.reschedule(
            task=EXPIRE_GRANT, subject_id=subject, due_at=start + timedelta(hours=5), now=now
        )
        queue.reschedule(
            task=EXPIRE_GRANT, subject_id=subject, due_at=start + timedelta(hours=4), now=now
        )

    monkeypatch.setitem(due_work.HANDLERS, EXPIRE_GRANT, put_off_once)
    assert engine.advance_clock(seconds=2 * 3600).processed == 1
    with engine.context.reading() as uow:
        queued = uow.connection.execute(
            select(tables.due_work.c.task, tables.due_work.c.due_at).where(
                tables.due_work.c.subject_id == grant
            )
        ).all()
    assert [tuple(row) for row in queued] == [(EXPIRE_GRANT, start + timedelta(hours=4))]
    assert engine.advance_clock(seconds=3 * 3600).processed == 1
    assert [e.type for e in engine.ledger(account.id).data].count("expire") == 1


def test_a_failing_item_is_put_off_alone_and_the_rest_of_its_batch_is_done(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SystemClock()
    with Engine(database_url=database_url, clock=clock) as engine:
        account = make_account(engine)
        grants = _lapsing_grants(
            engine, account.id, [clock.now() + timedelta(milliseconds=200 + n) for n in range(5)]
        )
        broken = grants[2]
        expire = due_work.HANDLERS[EXPIRE_GRANT]

        def expire_unless_broken(context: object, uow: object, now: object, subject: str) -> None:
            if subject == broken:
                raise RuntimeError("this one fails")
            expire(context, uow, now, subject)  # type: ignore[arg-type]

        monkeypatch.setitem(due_work.HANDLERS, EXPIRE_GRANT, expire_unless_broken)
        time.sleep(0.3)
        assert engine.run_due_work() == 4
        types = [e.type for e in engine.ledger(account.id).data]
        assert types.count("expire") == 4
        assert engine.balance(account.id).available == 0  # the broken one lapsed by its time
        # Put off a few minutes, not lost: it is still due.
        with engine.context.reading() as uow:
            assert uow.due_work.count() == 1


def _lapsing_grants(engine: Engine, account_id: str, expiries: list[datetime]) -> list[str]:
    """A one-credit promo grant expiring at each time; their ids."""
    return [
        engine.grant(account_id, credits=1, kind="promo", reason="lapses", expires_at=at).id
        for at in expiries
    ]


def test_sqlite_connections_keep_a_large_page_cache(tmp_path: Path) -> None:
    """A year of renewals slowed month by month with SQLite's 2 MiB default (benchmarks/clock.py):
    every connection the engine opens keeps up to 64 MiB of pages."""
    engine = Engine(database_url=f"sqlite:///{tmp_path / 'cache.db'}")
    try:
        with engine.context.reading() as uow:
            size = uow.connection.exec_driver_sql("PRAGMA cache_size").scalar()
    finally:
        engine.close()
    assert size == -SQLITE_CACHE_KIB == -64 * 1024
