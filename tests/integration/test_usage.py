"""What a member spent per day and on what (the portal's usage page), on SQLite and PostgreSQL.

The example catalog's site is in Europe/Berlin and prices `generate` at 10 credits and
`upscale` at 4. The test clock starts on 15 January 2026 at 09:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from creditflow.clock import TestClock
from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.engine import Engine
from creditflow.services.jobs import JobOutput
from creditflow.services.usage import Spending, spent_by_day
from tests.factories import make_account
from tests.images import png

RESULT = JobOutput(data=png((128, 96)), content_type="image/png", name="result.png")


def spending(engine: Engine, account_id: str, days: int) -> Spending:
    with engine.context.reading() as uow:
        return spent_by_day(
            uow,
            account_id=account_id,
            now=engine.clock.now(),
            days=days,
            zone=engine.catalog.site.zone,
        )


def funded(engine: Engine) -> str:
    account = make_account(engine).id
    engine.grant(account, credits=10_000, kind="purchased", reason="test")
    return account


def run_job(engine: Engine, account_id: str, operation: str, *, succeed: bool = True) -> None:
    job = engine.create_job(account_id, operation=operation, image=png())
    claimed = engine.claim_job(worker="w1")
    assert claimed is not None and claimed.id == job.id
    if succeed:
        engine.complete_job(job.id, outputs=[RESULT])
    else:
        engine.fail_job(job.id, error="out of memory")


def test_spends_land_on_their_day_in_the_sites_zone_by_the_operation_of_their_job(
    engine: Engine, clock: TestClock
) -> None:
    account = funded(engine)
    run_job(engine, account, "generate")  # 15 January, 10:00 in Berlin
    run_job(engine, account, "upscale")
    engine.consume(account, credits=7, reason="chat message")
    run_job(engine, account, "upscale", succeed=False)  # released: costs nothing
    clock.move_to(datetime(2026, 1, 16, 23, 30, tzinfo=UTC))  # 00:30 on 17 January in Berlin
    run_job(engine, account, "generate")
    run_job(engine, account, "generate")
    clock.move_to(datetime(2026, 1, 20, 12, 0, tzinfo=UTC))

    spent = spending(engine, account, 30)

    assert spent.days[-1] == date(2026, 1, 20) and len(spent.days) == 30
    assert spent.days[0] == date(2025, 12, 22)
    assert spent.by_operation == {
        "generate": {date(2026, 1, 15): 10, date(2026, 1, 17): 20},
        "upscale": {date(2026, 1, 15): 4},
    }
    assert spent.other == {date(2026, 1, 15): 7}
    assert spent.on(date(2026, 1, 16)) == 0  # nothing happened that day in Berlin
    assert [spent.on(day) for day in spent.days[-6:]] == [21, 0, 20, 0, 0, 0]
    assert spent.total == 41


def test_a_hold_taken_through_the_api_is_other_even_when_it_names_a_job(
    engine: Engine,
) -> None:
    account = funded(engine)
    job = engine.create_job(account, operation="upscale", image=png())
    hold = engine.hold(account, credits=50, reason="job upscale", reference=job.id)
    engine.capture(hold.id, credits=30)  # the other 20 go back, unspent
    partial = engine.hold(account, credits=25)
    engine.release(partial.id)

    spent = spending(engine, account, 30)

    assert spent.by_operation == {}  # the job is still queued: its hold is not captured
    assert spent.other == {date(2026, 1, 15): 30}


def test_the_window_starts_at_local_midnight_and_leaves_older_spends_out(
    engine: Engine, clock: TestClock
) -> None:
    account = funded(engine)
    engine.consume(account, credits=1)  # 15 January: more than 90 days before 20 April
    # 23:59:59 on 20 January in Berlin (CET, +1)
    clock.move_to(datetime(2026, 1, 20, 22, 59, 59, tzinfo=UTC))
    engine.consume(account, credits=2)
    # midnight: 21 January begins, the window's first day
    clock.move_to(datetime(2026, 1, 20, 23, 0, tzinfo=UTC))
    engine.consume(account, credits=3)
    # after the clocks went forward: 00:30 on 30 March (CEST)
    clock.move_to(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    run_job(engine, account, "upscale")
    clock.move_to(datetime(2026, 4, 20, 10, 0, tzinfo=UTC))

    ninety = spending(engine, account, 90)
    thirty = spending(engine, account, 30)

    assert (ninety.days[0], ninety.days[-1]) == (date(2026, 1, 21), date(2026, 4, 20))
    assert ninety.other == {date(2026, 1, 21): 3}
    assert ninety.by_operation == {"upscale": {date(2026, 3, 30): 4}}
    assert sum(ninety.on(day) for day in ninety.days) == ninety.total == 7
    assert thirty.days[0] == date(2026, 3, 22)
    assert (thirty.other, thirty.total) == ({}, 4)


def test_an_account_that_spent_nothing_has_every_day_at_zero(engine: Engine) -> None:
    account = funded(engine)
    spent = spending(engine, account, 90)
    assert len(spent.days) == 90 and spent.total == 0
    assert {spent.on(day) for day in spent.days} == {0}


def test_another_accounts_spends_are_not_counted(engine: Engine) -> None:
    mine, theirs = funded(engine), funded(engine)
    run_job(engine, theirs, "generate")
    engine.consume(theirs, credits=5)
    engine.consume(mine, credits=1)
    assert spending(engine, mine, 30).total == 1


def test_a_window_must_be_a_sensible_number_of_days_of_an_existing_account(
    engine: Engine,
) -> None:
    account = funded(engine)
    with pytest.raises(InvalidRequest):
        spending(engine, account, 0)
    with pytest.raises(InvalidRequest):
        spending(engine, account, 10_000)
    with pytest.raises(NotFound):
        spending(engine, "acc_nobody", 30)


def test_the_window_ends_today_even_right_after_local_midnight(
    engine: Engine, clock: TestClock
) -> None:
    account = funded(engine)
    clock.move_to(datetime(2026, 1, 15, 23, 0, tzinfo=UTC) + timedelta(seconds=1))
    engine.consume(account, credits=9)
    spent = spending(engine, account, 30)
    assert spent.days[-1] == date(2026, 1, 16)
    assert spent.other == {date(2026, 1, 16): 9}
