"""Mail: templates, the SMTP and .eml transports against a real SMTP server, and the outbox,
whose promise is that mail survives a dead server and is never sent for a rolled-back change.

The SMTP server is aiosmtpd's, in a thread on 127.0.0.1. The outbox tests run on SQLite and
PostgreSQL (the `engine` fixture); the template and transport tests need no database.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from jinja2 import UndefinedError

from creditflow.clock import TestClock
from creditflow.engine import Engine
from creditflow.mail.compose import (
    TEMPLATES,
    Attachment,
    _printed_names,
    check_fits,
    compose,
    render,
)
from creditflow.mail.transports import (
    EmlFolderTransport,
    MailDeliveryError,
    SmtpTransport,
    transport_from_env,
)
from creditflow.services.mail import AttachmentRef, deliver_due_mail, enqueue_mail, retry_delay
from tests.factories import make_account

SENDER = "Pixel Credits <billing@pixel.example>"
SITE = "Pixel Credits"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

CONTEXTS: dict[str, dict[str, Any]] = {
    "order_paid": {
        "order_id": "ord_1",
        "invoice_number": "INV-2026-000001",
        "total": "€12.00",
        "lines": [
            {"description": "500 credits", "amount": "€10.00"},
            {"description": "VAT 20%", "amount": "€2.00"},
        ],
    },
    "renewal_paid": {
        "plan": "Pro",
        "period_end": "15 February 2026",
        "total": "€9.00",
        "invoice_number": "INV-2026-000002",
    },
    "renewal_failed": {"plan": "Pro", "total": "€9.00", "retry_at": "18 January 2026"},
    "subscription_cancelled": {"plan": "Pro", "access_until": "15 February 2026"},
    "subscription_ended": {"plan": "Pro", "ended_at": "15 February 2026"},
    "refund_request_received": {
        "request_id": "rfr_1",
        "order_id": "ord_1",
        "due_by": "22 January 2026",
    },
    "refund_decided": {
        "request_id": "rfr_1",
        "outcome": "approve_full",
        "amount": "€12.00",
        "credits": None,
        "reason": "The upscale came out blurred.",
    },
    "account_suspended": {"reason": "a chargeback was opened", "order_id": "ord_1"},
    "webhook_endpoint_disabled": {
        "endpoint_id": "whe_1",
        "url": "https://site.example/hooks",
        "reason": "every delivery failed since 2026-01-10T09:00:00+00:00",
    },
    "portal_sign_in": {"url": "https://billing.example/portal/open/abc", "minutes": 15},
}


def full(template: str, **changes: Any) -> dict[str, Any]:
    return {
        "site_name": SITE,
        "account_email": "ann@example.com",
        **CONTEXTS[template],
        **changes,
    }


# An SMTP server in a thread


@dataclass
class Collector:
    """An aiosmtpd handler that keeps what it was sent."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.received.append((list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for _, content in self.received:
            message = email.message_from_bytes(content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class SmtpServer:
    collector: Collector
    port: int
    controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(Collector(), free_port()).start()
    try:
        yield server
    finally:
        server.stop()


# Templates


def test_every_template_renders_with_a_full_context() -> None:
    assert set(TEMPLATES) == set(CONTEXTS)
    for template in TEMPLATES:
        rendered = render(template, full(template))
        assert rendered.subject.startswith(SITE), template
        assert "\n" not in rendered.subject
        assert "ann@example.com" in rendered.text
        assert "ann@example.com" in rendered.html
        assert rendered.html.lstrip().startswith("<!DOCTYPE html>")


def test_a_missing_context_key_fails_loudly() -> None:
    for template in TEMPLATES:
        for key in full(template):
            context = full(template)
            del context[key]
            if template == "refund_decided" and key in ("amount", "credits"):
                continue  # only some outcomes speak of them
            with pytest.raises(UndefinedError):
                render(template, context)


def test_checking_a_context_agrees_with_rendering_it() -> None:
    """`check_fits`, which skips the render where the names a template prints are the whole
    answer, refuses every context a render refuses and takes every one it takes."""
    assert _printed_names("renewal_paid") is not None  # every renewal queues one
    assert _printed_names("refund_decided") is None  # it refuses outcomes it has no words for
    portal = "https://billing.example/portal"
    for template in TEMPLATES:
        for whole in (full(template), full(template, portal_url=portal)):
            check_fits(template, whole)
            for key in whole:
                context = {k: v for k, v in whole.items() if k != key}
                try:
                    render(template, context)
                except UndefinedError:
                    with pytest.raises(UndefinedError):
                        check_fits(template, context)
                else:
                    check_fits(template, context)
    with pytest.raises(ValueError, match="unknown refund outcome"):
        check_fits("refund_decided", full("refund_decided", outcome="maybe"))


def test_order_paid_lists_its_lines_and_total() -> None:
    rendered = render("order_paid", full("order_paid"))
    assert "500 credits: €10.00" in rendered.text
    assert "Total: €12.00" in rendered.text
    assert "INV-2026-000001" in rendered.html


def test_renewal_failed_says_whether_we_try_again() -> None:
    again = render("renewal_failed", full("renewal_failed")).text
    final = render("renewal_failed", full("renewal_failed", retry_at=None)).text
    assert "try again on 18 January 2026" in again
    assert "will not try again" in final


def test_refund_decided_has_one_sentence_per_outcome_and_the_agents_note() -> None:
    outcomes: dict[str, dict[str, Any]] = {
        "approve_full": {"amount": "€12.00"},
        "approve_partial": {"amount": "€4.00"},
        "replacement_credits": {"amount": None, "credits": 250},
        "free_retry": {"amount": None},
        "deny": {"amount": None},
    }
    texts = {}
    for outcome, changes in outcomes.items():
        reason = f"Note for {outcome}."
        rendered = render(
            "refund_decided", full("refund_decided", outcome=outcome, reason=reason, **changes)
        )
        assert reason in rendered.text
        assert reason in rendered.html
        texts[outcome] = rendered.text.replace(reason, "")
    assert len(set(texts.values())) == len(outcomes)
    assert "in full: €12.00" in texts["approve_full"]
    assert "€4.00" in texts["approve_partial"]
    assert "250 credits" in texts["replacement_credits"]
    assert "free retry" in texts["free_retry"]
    assert "could not approve" in texts["deny"]
    with pytest.raises(ValueError, match="unknown refund outcome"):
        render("refund_decided", full("refund_decided", outcome="maybe"))


def test_html_escapes_what_the_text_part_keeps() -> None:
    name = "<script>alert(1)</script> & Co"
    rendered = render("subscription_ended", full("subscription_ended", plan=name))
    assert name in rendered.text
    assert name in rendered.subject
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in rendered.html


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mail template"):
        compose("welcome", {}, sender=SENDER, to="ann@example.com")


# Transports


def parts(message: EmailMessage) -> tuple[str, str, list[EmailMessage]]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return text.get_content(), html.get_content(), list(message.iter_attachments())


def test_smtp_transport_delivers_text_html_and_a_pdf(smtp_server: SmtpServer) -> None:
    message = compose(
        "order_paid",
        full("order_paid"),
        sender=SENDER,
        to="ann@example.com",
        attachments=[Attachment("INV-2026-000001.pdf", "application/pdf", PDF)],
    )
    SmtpTransport.from_url(smtp_server.url).send(message)

    [(recipients, _)] = smtp_server.collector.received
    assert recipients == ["ann@example.com"]
    [got] = smtp_server.collector.messages()
    assert got["Subject"] == f"{SITE}: payment received for order ord_1"
    assert got["To"] == "ann@example.com"
    assert got["Message-ID"] == message["Message-ID"]
    assert got["Message-ID"].endswith("@pixel.example>")
    assert got["Date"] is not None
    assert got.get_content_type() == "multipart/mixed"
    text, html, attachments = parts(got)
    assert "500 credits: €10.00" in text
    assert "<td>500 credits</td>" in html
    [pdf] = attachments
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "INV-2026-000001.pdf"
    assert pdf.get_content() == PDF


def test_smtp_transport_reports_a_server_that_is_not_there() -> None:
    transport = SmtpTransport.from_url(f"smtp://127.0.0.1:{free_port()}")
    message = compose("subscription_ended", full("subscription_ended"), sender=SENDER, to="a@b.c")
    with pytest.raises(MailDeliveryError, match=r"127\.0\.0\.1"):
        transport.send(message)


def test_eml_folder_transport_writes_a_parseable_message(tmp_path: Path) -> None:
    folder = tmp_path / "outgoing" / "mail"
    message = compose(
        "renewal_paid",
        full("renewal_paid"),
        sender=SENDER,
        to="ann@example.com",
        attachments=[Attachment("INV-2026-000002.pdf", "application/pdf", PDF)],
    )
    EmlFolderTransport(folder).send(message)

    [path] = list(folder.iterdir())
    assert path.suffix == ".eml"
    stamp, _, _ = path.stem.partition("-")
    assert len(stamp) == 15 and stamp[8] == "T"
    got = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(got, EmailMessage)
    text, _, [pdf] = parts(got)
    assert "renewed until 15 February 2026" in text
    assert pdf.get_content() == PDF


def test_smtp_urls_are_parsed_with_their_defaults() -> None:
    plain = SmtpTransport.from_url("smtp://mail.example.com")
    assert (plain.host, plain.port, plain.security, plain.username) == (
        "mail.example.com",
        25,
        "plain",
        None,
    )
    starttls = SmtpTransport.from_url("smtp://us%40er:p%40ss%3Aw@mail.example.com?starttls=true")
    assert (starttls.port, starttls.security) == (587, "starttls")
    assert (starttls.username, starttls.password) == ("us@er", "p@ss:w")
    assert "p@ss" not in repr(starttls)
    assert SmtpTransport.from_url("smtp+starttls://u:p@h:2525").security == "starttls"
    assert SmtpTransport.from_url("smtp+starttls://u:p@h:2525").port == 2525
    tls = SmtpTransport.from_url("smtps://u:p@h")
    assert (tls.port, tls.security) == (465, "tls")
    assert SmtpTransport.from_url("smtp://h:26?starttls=false").security == "plain"


def test_the_environment_chooses_the_transport(tmp_path: Path) -> None:
    smtp = transport_from_env({"CREDITFLOW_SMTP_URL": "smtps://u:p@mail.example.com"})
    assert isinstance(smtp, SmtpTransport)
    folder = transport_from_env({"CREDITFLOW_MAIL_DIR": str(tmp_path)})
    assert isinstance(folder, EmlFolderTransport) and folder.folder == tmp_path
    default = transport_from_env({})
    assert isinstance(default, EmlFolderTransport) and default.folder == Path("mail")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://mail.example.com", "unknown scheme"),
        ("mail.example.com:25", "unknown scheme"),
        ("smtp://", "no host"),
        ("smtp://user:secret@:25", "no host"),
        ("smtp://user:secret@mail.example.com:twenty", "not a number"),
        ("smtp://mail.example.com:99999", "not a number"),
        ("smtp://mail.example.com?starttls=yes", "starttls must be true or false"),
        ("smtp://mail.example.com?startls=true", "unknown parameter"),
        ("smtps://mail.example.com?starttls=true", "contradicts"),
    ],
)
def test_a_malformed_smtp_url_stops_the_service(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match="CREDITFLOW_SMTP_URL") as raised:
        transport_from_env({"CREDITFLOW_SMTP_URL": url})
    assert problem in str(raised.value)
    assert "secret" not in str(raised.value)


# The outbox, on both databases


def deliver(engine: Engine, clock: TestClock, transport: Any) -> int:
    return deliver_due_mail(
        engine.context,
        transport=transport,
        files=engine.files,
        sender=SENDER,
        site_name=SITE,
        now=clock.now(),
    )


def test_the_outbox_outlives_a_dead_smtp_server(
    engine: Engine, clock: TestClock, smtp_server: SmtpServer
) -> None:
    account = make_account(engine)
    pdf = engine.files.put(PDF)
    invoice = AttachmentRef(sha256=pdf, name="INV-2026-000001.pdf", content_type="application/pdf")
    start = clock.now()
    with engine.context.writing() as uow:
        ids = [
            enqueue_mail(
                uow,
                now=start,
                to=f"customer{n}@example.com",
                template="order_paid",
                context={**CONTEXTS["order_paid"], "order_id": f"ord_{n}"},
                account_id=account.id,
                attachments=[invoice],
            )
            for n in range(3)
        ]
        uow.commit()
    transport = SmtpTransport.from_url(smtp_server.url)

    smtp_server.stop()
    assert deliver(engine, clock, transport) == 0
    with engine.context.reading() as uow:
        waiting = [uow.outbox.get(message_id) for message_id in ids]
        assert uow.outbox.pending_count() == 3
    for message in waiting:
        assert message is not None
        assert (message.status, message.attempts) == ("pending", 1)
        assert message.next_attempt_at == start + retry_delay(0) > start
        assert message.last_error is not None and "MailDeliveryError" in message.last_error
    assert deliver(engine, clock, transport) == 0  # not due yet: no second attempt
    with engine.context.reading() as uow:
        assert {m.attempts for m in uow.outbox.list(account_id=account.id)} == {1}

    smtp_server.start()  # the same port, a new server
    clock.move_to(start + retry_delay(0) + timedelta(seconds=1))
    assert deliver(engine, clock, transport) == 3
    received = smtp_server.collector.messages()
    assert len(received) == 3
    assert len({m["Message-ID"] for m in received}) == 3
    assert sorted(str(m["To"]) for m in received) == [f"customer{n}@example.com" for n in range(3)]
    assert sorted(r for rs, _ in smtp_server.collector.received for r in rs) == [
        f"customer{n}@example.com" for n in range(3)
    ]
    for got in received:
        [pdf_part] = list(got.iter_attachments())
        assert pdf_part.get_content() == PDF
    with engine.context.reading() as uow:
        assert uow.outbox.pending_count() == 0
        for message_id in ids:
            sent = uow.outbox.get(message_id)
            assert sent is not None
            assert (sent.status, sent.sent_at, sent.last_error) == ("sent", clock.now(), None)

    clock.move_to(clock.now() + timedelta(days=1))
    assert deliver(engine, clock, transport) == 0
    assert len(smtp_server.collector.received) == 3


def test_mail_of_a_rolled_back_change_is_never_sent(
    engine: Engine, clock: TestClock, smtp_server: SmtpServer
) -> None:
    with engine.context.writing() as uow:
        enqueue_mail(
            uow,
            now=clock.now(),
            to="ann@example.com",
            template="subscription_ended",
            context=CONTEXTS["subscription_ended"],
        )
        # no commit: the change this mail was about did not happen
    with engine.context.writing() as uow:
        kept = enqueue_mail(
            uow,
            now=clock.now(),
            to="bob@example.com",
            template="subscription_cancelled",
            context=CONTEXTS["subscription_cancelled"],
        )
        uow.commit()

    transport = SmtpTransport.from_url(smtp_server.url)
    clock.move_to(clock.now() + timedelta(days=1))
    assert deliver(engine, clock, transport) == 1
    [(recipients, _)] = smtp_server.collector.received
    assert recipients == ["bob@example.com"]
    with engine.context.reading() as uow:
        assert [m.id for m in uow.outbox.list()] == [kept]


def test_enqueue_checks_the_template_and_its_context(engine: Engine, clock: TestClock) -> None:
    with engine.context.writing() as uow:
        with pytest.raises(ValueError, match="unknown mail template"):
            enqueue_mail(uow, now=clock.now(), to="a@b.c", template="welcome", context={})
        with pytest.raises(UndefinedError):
            enqueue_mail(
                uow, now=clock.now(), to="a@b.c", template="subscription_ended", context={}
            )
        with pytest.raises(ValueError, match="JSON"):
            enqueue_mail(
                uow,
                now=clock.now(),
                to="a@b.c",
                template="subscription_ended",
                context={"plan": "Pro", "ended_at": "x", "weird": {(1, 2): 3}},
            )
        # Datetimes are frozen as text: the message shows what the context said.
        message_id = enqueue_mail(
            uow,
            now=clock.now(),
            to="a@b.c",
            template="subscription_ended",
            context={"plan": "Pro", "ended_at": clock.now()},
        )
        stored = uow.outbox.get(message_id)
        assert stored is not None
        assert "2026-01-15 09:00:00+00:00" in stored.context
        assert stored.attachments == "[]"


def test_delivery_to_an_eml_folder_through_the_outbox(
    engine: Engine, clock: TestClock, tmp_path: Path
) -> None:
    with engine.context.writing() as uow:
        enqueue_mail(
            uow,
            now=clock.now(),
            to="ann@example.com",
            template="refund_request_received",
            context=CONTEXTS["refund_request_received"],
        )
        uow.commit()
    folder = tmp_path / "mail"
    assert deliver(engine, clock, EmlFolderTransport(folder)) == 1
    [path] = list(folder.glob("*.eml"))
    got = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(got, EmailMessage)
    text, _, _ = parts(got)
    assert "refund request rfr_1 for order ord_1" in text
    assert f"-- \n{SITE}" in text


def test_a_message_whose_attachment_is_missing_waits_without_blocking_others(
    engine: Engine, clock: TestClock, smtp_server: SmtpServer
) -> None:
    missing = AttachmentRef(sha256="0" * 64, name="gone.pdf", content_type="application/pdf")
    with engine.context.writing() as uow:
        stuck = enqueue_mail(
            uow,
            now=clock.now(),
            to="ann@example.com",
            template="renewal_paid",
            context=CONTEXTS["renewal_paid"],
            attachments=[missing],
        )
        enqueue_mail(
            uow,
            now=clock.now(),
            to="bob@example.com",
            template="subscription_ended",
            context=CONTEXTS["subscription_ended"],
        )
        uow.commit()
    assert deliver(engine, clock, SmtpTransport.from_url(smtp_server.url)) == 1
    with engine.context.reading() as uow:
        waiting = uow.outbox.get(stuck)
    assert waiting is not None
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error is not None and "FileNotFoundError" in waiting.last_error


def test_back_off_doubles_up_to_an_hour() -> None:
    delays = [retry_delay(n) for n in (0, 1, 2, 6, 7, 1000)]
    assert delays == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=32),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_a_second_deliverer_does_not_send_a_batch_being_sent(
    engine: Engine, clock: TestClock, smtp_server: SmtpServer
) -> None:
    """Another server running the loop while this one is mid-batch finds the batch leased."""
    with engine.context.writing() as uow:
        for n in range(2):
            enqueue_mail(
                uow,
                now=clock.now(),
                to=f"customer{n}@example.com",
                template="subscription_ended",
                context=CONTEXTS["subscription_ended"],
            )
        uow.commit()
    smtp = SmtpTransport.from_url(smtp_server.url)
    rival_sent: list[int] = []

    class FirstSendRunsARival:
        def send(self, message: EmailMessage) -> None:
            if not rival_sent:
                rival_sent.append(deliver(engine, clock, smtp))
            smtp.send(message)

    assert deliver(engine, clock, FirstSendRunsARival()) == 2
    assert rival_sent == [0]
    assert len(smtp_server.collector.received) == 2
