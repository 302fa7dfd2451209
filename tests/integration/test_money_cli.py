"""`creditflow webhooks unmatched` and `creditflow invoices export` for the people who run it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from creditflow.cli import app
from creditflow.clock import TestClock
from creditflow.engine import Engine
from creditflow.payments.events import EventKind, ProviderEvent
from creditflow.services.webhooks import receive_event
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import make_account
from tests.hosted import RecordingAdapter

TAGGER = REFERENCE_CATALOGS / "tagger.toml"


def test_unmatched_events_are_listed_and_documents_export_as_csv(
    tmp_path: Path, clock: TestClock
) -> None:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    with Engine(
        database_url=url,
        clock=clock,
        catalog=TAGGER,
        data_dir=tmp_path / "d",
        adapters={"stripe": RecordingAdapter()},
    ) as engine:
        account = make_account(engine)
        order = engine.checkout(account.id, product="pack_1000")
        engine.refund_order(order.id, amount=100, reason="goodwill")
        stray = ProviderEvent(
            provider="stripe",
            event_id="evt_stray",
            type="charge.refunded",
            kind=EventKind.REFUND,
            payment_id="pi_nobody",
            refunded_total=5,
        )
        engine.context.run_plain(
            lambda uow: receive_event(
                uow,
                catalog=engine.catalog,
                providers=engine.context.providers,
                event=stray,
                payload="{}",
                now=clock.now(),
            )
        )
    runner = CliRunner()
    listed = runner.invoke(app, ["webhooks", "unmatched", "--db", url])
    assert listed.exit_code == 0, listed.output
    assert "evt_stray" in listed.output and "payment_id=pi_nobody" in listed.output

    out = tmp_path / "books.csv"
    exported = runner.invoke(
        app,
        [
            "invoices",
            "export",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--out",
            str(out),
            "--db",
            url,
            "--catalog",
            str(TAGGER),
        ],
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["number"], r["total"]) for r in rows] == [
        ("INV-2026-000001", "9.00"),
        ("CN-2026-000001", "-1.00"),
    ]
    empty = runner.invoke(
        app, ["invoices", "export", "--from", "2026-02-01", "--to", "2026-02-28", "--db", url]
    )
    assert empty.exit_code == 0 and empty.stdout.splitlines()[0].startswith("number,kind")
    bad = runner.invoke(
        app, ["invoices", "export", "--from", "soon", "--to", "2026-02-28", "--db", url]
    )
    assert bad.exit_code != 0 and "dates" in bad.output


def test_the_refund_queue_lists_open_requests_oldest_due_first(
    tmp_path: Path, clock: TestClock
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    with Engine(database_url=url, clock=clock, catalog=TAGGER, data_dir=tmp_path / "d") as engine:
        account = make_account(engine)
        first = engine.checkout(account.id, product="pack_500")
        second = engine.checkout(account.id, product="pack_1000")
        older = engine.submit_refund_request(order_id=first.id, reason="unused")
        engine.advance_clock(seconds=86400)
        newer = engine.submit_refund_request(order_id=second.id, reason="duplicate_charge")
    result = CliRunner().invoke(
        app, ["refunds", "queue", "--db", url, "--catalog", str(TAGGER)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "2 open refund request(s)" in result.output
    assert result.output.index(older.id) < result.output.index(newer.id)
    assert "deny" in result.output  # the standard policy refuses an unused pack
