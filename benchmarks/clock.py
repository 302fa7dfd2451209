"""A year of subscriptions on the test clock: due events per second, peak memory, month by month.

Run from the repository root:  python3 benchmarks/clock.py [--accounts 10000] [--months 12]

Accounts subscribe to the membership reference catalog's tiers, a third of them yearly, their
purchases spread over the first month so renewals fall on every day. Then the test clock is
advanced one month at a time; each month's due events (renewal charges with their orders,
payments, invoices and grants; monthly recharges of annual plans; expiries) are timed. The time
per event must not grow with the months already run: the queue is read through its index on
`due_at`, never scanned.

The raw baseline, measured in the same run on the same disk: one durable sqlite3 transaction per
event with the bare driver (`BEGIN IMMEDIATE`, one UPDATE and three INSERTs, COMMIT), the least a
renewal can cost when it writes a grant, a ledger entry, an order and a balance.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from creditflow.clock import TestClock
from creditflow.domain.periods import add_months
from creditflow.engine import Engine

START = datetime(2026, 1, 1, tzinfo=UTC)
CATALOG = (
    Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "catalogs" / "membership.toml"
)


def catalog_path() -> Path | None:
    """The membership reference catalog, or the built-in example (monthly and yearly) without it."""
    return CATALOG if CATALOG.exists() else None


def subscribe_all(engine: Engine, clock: TestClock, accounts: int) -> None:
    """Subscribe `accounts` accounts, spread evenly over the first 28 days."""
    plans = [p.code for p in engine.catalog.plans]
    step = timedelta(days=28) / accounts
    for n in range(accounts):
        clock.move_to(START + step * n)
        account = engine.create_account(external_id=f"bench-{n}", email=f"b{n}@example.com")
        plan = engine.catalog.plans[n % len(plans)]
        yearly = n % 3 == 0 and plan.price.year is not None
        engine.subscribe(account.id, plan=plan.code, interval="year" if yearly else "month")


def raw_events_per_second(folder: str, events: int) -> float:
    connection = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE balances (id INTEGER PRIMARY KEY, credits INTEGER)")
    connection.execute(
        "CREATE TABLE rows (id INTEGER PRIMARY KEY, account INTEGER, at TEXT, v TEXT)"
    )
    connection.executemany("INSERT INTO balances VALUES (?, 0)", [(n,) for n in range(1000)])
    started = time.perf_counter()
    for n in range(events):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE balances SET credits = credits + 5000 WHERE id = ?", (n % 1000,))
        for what in ("grant", "entry", "order"):
            connection.execute(
                "INSERT INTO rows (account, at, v) VALUES (?, ?, ?)", (n % 1000, str(n), what)
            )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="creditflow-clock-bench-")
    url = args.db or f"sqlite:///{os.path.join(folder, 'clock.db')}"
    clock = TestClock(START)
    engine = Engine(database_url=url, catalog=catalog_path(), clock=clock)
    started = time.perf_counter()
    subscribe_all(engine, clock, args.accounts)
    setup = time.perf_counter() - started
    print(f"{args.accounts} accounts subscribed in {setup:.1f} s on {url.split(':')[0]}")

    per_month: list[tuple[int, float]] = []
    for month in range(1, args.months + 1):
        began = time.perf_counter()
        # Months end 28 days after the calendar's, once every account has made its purchase.
        view = engine.advance_clock(to=add_months(START + timedelta(days=28), month))
        per_month.append((view.processed or 0, time.perf_counter() - began))
    engine.close()

    events = sum(n for n, _ in per_month)
    seconds = sum(s for _, s in per_month)
    raw = raw_events_per_second(folder, min(events, 20_000))
    print(f"{'month':>5} {'events':>8} {'seconds':>8} {'events/s':>9} {'ms/event':>9}")
    for month, (n, s) in enumerate(per_month, start=1):
        print(f"{month:>5} {n:>8} {s:>8.1f} {n / s:>9.0f} {1000 * s / max(n, 1):>9.3f}")
    first = per_month[0][1] / max(per_month[0][0], 1)
    last = per_month[-1][1] / max(per_month[-1][0], 1)
    print(
        f"events/s  creditflow {events / seconds:.0f}   raw sqlite3 (1 tx per event) {raw:.0f}   "
        f"ratio {events / seconds / raw:.2f}"
    )
    print(f"time per event, last month / first month: {last / first:.2f} (flat is 1.00)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
