"""On the real clock, the background loop works the due-work queue by itself."""

from __future__ import annotations

import time
from datetime import timedelta

from creditflow.clock import SystemClock
from creditflow.engine import Engine
from creditflow.scheduler import due_work_loop
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
