"""What a customer is mailed when money moves: through a real SMTP server (aiosmtpd).

Rule 21: every paid order gets an invoice and an email with it; renewals, failed renewals,
cancellations and chargebacks each send their notice.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from pypdf import PdfReader

from creditflow.clock import TestClock
from creditflow.engine import Engine
from creditflow.mail.transports import SmtpTransport
from creditflow.payments.events import EventKind, ProviderEvent
from creditflow.services.webhooks import receive_event
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import make_account
from tests.hosted import RETURN_TO, RecordingAdapter
from tests.integration.test_mail import SmtpServer, smtp_server  # noqa: F401 (a fixture)


@pytest.fixture
def mailing_engine(
    database_url: str,
    clock: TestClock,
    tmp_path: Path,
    smtp_server: SmtpServer,  # noqa: F811
) -> Iterator[Engine]:
    with Engine(
        database_url=database_url,
        clock=clock,
        catalog=REFERENCE_CATALOGS / "photo-credits.toml",
        data_dir=tmp_path / "data",
        mail_transport=SmtpTransport.from_url(smtp_server.url),
        adapters={"stripe": RecordingAdapter()},
    ) as engine:
        yield engine


def sent(server: SmtpServer) -> list[EmailMessage]:
    return server.collector.messages()


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def test_rule_21_a_paid_order_mails_its_invoice_as_a_pdf_attachment(
    mailing_engine: Engine,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    engine = mailing_engine
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_1000")
    assert engine.deliver_mail() == 1
    [message] = sent(smtp_server)
    assert message["To"] == account.email
    invoice = engine.invoice(order.id)
    assert invoice.number in text_of(message) and "39.99 USD" in text_of(message)
    [pdf] = [part for part in message.iter_attachments()]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"{invoice.number}.pdf"
    data = pdf.get_content()
    assert data == engine.document_pdf("invoice", invoice.number)  # the kept PDF, rendered once
    assert "39.99 USD" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert engine.deliver_mail() == 0  # sent once


def test_renewals_failures_and_cancellations_each_mail_the_customer(
    mailing_engine: Engine,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    engine = mailing_engine
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="basic", interval="month")
    engine.advance_clock(to=subscription.current_period_end)
    engine.set_test_payment_behavior(account.id, "decline")
    engine.advance_clock(to=engine.subscription(subscription.id).current_period_end)
    engine.cancel_subscription(subscription.id)
    engine.deliver_mail()
    subjects = [m["Subject"] for m in sent(smtp_server)]
    texts = [text_of(m) for m in sent(smtp_server)]
    assert len(subjects) == 4
    assert "invoice" in texts[0].lower()  # the first payment
    assert "renewed until 2026-03-15" in texts[1]
    assert "We could not charge 9.99 USD" in texts[2] and "2026-03-16" in texts[2]
    assert "will not renew" in texts[3] and "2026-03-15" in texts[3]
    assert len(set(subjects)) == 4


def test_a_chargeback_mails_the_suspension(
    mailing_engine: Engine,
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    engine = mailing_engine
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100", provider="stripe", **RETURN_TO)

    def deliver(kind: EventKind, tag: str, **fields: object) -> None:
        event = ProviderEvent(
            provider="stripe",
            event_id=tag,
            type=kind.value,
            kind=kind,
            order_id=order.id,
            payment_id="pi_1",
            **fields,
        )  # type: ignore[arg-type]
        engine.context.run_plain(
            lambda uow: receive_event(
                uow,
                catalog=engine.catalog,
                providers=engine.context.providers,
                event=event,
                payload="{}",
                now=engine.clock.now(),
            )
        )

    deliver(EventKind.PAYMENT_SUCCEEDED, "evt_paid", amount=499)
    deliver(EventKind.DISPUTE_OPENED, "evt_dispute", dispute_id="dp_1", amount=499)
    engine.deliver_mail()
    last = sent(smtp_server)[-1]
    assert "suspended" in text_of(last) and order.id in text_of(last)
    assert engine.account(account.id).status == "suspended"
