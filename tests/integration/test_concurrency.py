"""No overspend under concurrency (rule 4): many threads, one account."""

from __future__ import annotations

import threading

from creditflow.domain.errors import InsufficientCredits
from creditflow.engine import Engine
from tests.factories import funded_account


def test_rule_4_sixteen_threads_spending_on_one_account_never_overspend(engine: Engine) -> None:
    account = funded_account(engine, 1000)
    engine.grant(account.id, credits=3, kind="promo", reason="a second grant to split across")
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def spend() -> None:
        barrier.wait()
        for _ in range(20):
            try:
                engine.consume(account.id, credits=7)
                ok = True
            except InsufficientCredits:
                ok = False
            with lock:
                results.append(ok)

    threads = [threading.Thread(target=spend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 320
    assert results.count(True) == 1003 // 7
    balance = engine.balance(account.id)
    assert balance.available == 1003 % 7
    assert engine.check() == []


def test_concurrent_holds_and_captures_keep_the_ledger_whole(engine: Engine) -> None:
    account = funded_account(engine, 500)
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        barrier.wait()
        try:
            for i in range(5):
                try:
                    hold = engine.hold(account.id, credits=9)
                except InsufficientCredits:
                    continue
                if (n + i) % 2:
                    engine.capture(hold.id, credits=4)
                else:
                    engine.release(hold.id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    balance = engine.balance(account.id)
    assert balance.held == 0
    assert (500 - balance.available) % 4 == 0
    assert engine.check() == []
