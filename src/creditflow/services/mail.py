"""Mail to customers, through an outbox.

A use case never talks to a mail server. It writes the message into `mail_outbox` in the same
transaction as the change the message is about (an order paid, a refund decided), so:

- a change that rolls back sends nothing: the customer is never told of a payment we did not
  record;
- a crash, a dead mail server or a restart loses nothing: the row waits, and `deliver_due_mail`
  retries it with back-off until the server takes it;
- a slow mail server never holds a database transaction (or SQLite's write lock) open.

Delivery is at least once, not exactly once: if the process dies after the server accepted a
message but before `mark_sent` commits, the message is sent again. A duplicate receipt is a
nuisance; a lost one is a support ticket.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from jinja2 import TemplateError

from creditflow.ids import new_id
from creditflow.jobs.files import FileStore
from creditflow.mail.compose import TEMPLATES, Attachment, Rendered, check_fits, compose, render
from creditflow.mail.transports import MailDeliveryError, MailTransport
from creditflow.services.context import ServiceContext
from creditflow.store.outbox import OutboxMessage
from creditflow.store.uow import UnitOfWork

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
"""Back-off doubles from 30 s to at most an hour: quick recovery from a blip, and a server that
is down all night costs one attempt per message per hour."""
LEASE = timedelta(minutes=10)
"""How long a batch being sent is hidden from other deliverers (see OutboxRepository.lease)."""


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """A file already in the file store (an invoice PDF), attached by reference: the outbox row
    stays small, and the bytes are read only when the message is sent."""

    sha256: str
    name: str
    content_type: str


def enqueue_mail(
    uow: UnitOfWork,
    *,
    now: datetime,
    to: str,
    template: str,
    context: Mapping[str, Any],
    account_id: str | None = None,
    attachments: Sequence[AttachmentRef] = (),
) -> str:
    """Queue a message in the caller's transaction; it is sent only if that transaction commits.

    The context is frozen as JSON now (non-JSON values such as datetimes become their `str()`),
    and checked here against the template from that frozen copy (`check_fits`: rendered,
    unless checking the names it prints is the whole answer): a context that does not fit the
    template fails the use case that wrote it, instead of sticking in the outbox. Pass
    display values (formatted money and dates): the message shows what the context says.
    `site_name` is added at delivery; `account_email` defaults to `to`.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}; known: {', '.join(TEMPLATES)}")
    try:
        frozen = json.dumps(dict(context), default=str, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"mail context for {template!r} is not JSON-serialisable: {error}"
        ) from error
    check_fits(template, _full_context(json.loads(frozen), to=to, site_name="(site)"))
    message_id = new_id("msg")
    uow.outbox.add(
        OutboxMessage(
            id=message_id,
            account_id=account_id,
            to_address=to,
            template=template,
            context=frozen,
            attachments=json.dumps([asdict(a) for a in attachments]),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            last_error=None,
            created_at=now,
            sent_at=None,
        )
    )
    return message_id


def deliver_due_mail(
    context: ServiceContext,
    *,
    transport: MailTransport,
    files: FileStore,
    sender: str,
    site_name: str,
    now: datetime,
    limit: int = 100,
    portal_url: str = "",
) -> int:
    """Send the mail that is due; return how many messages went out.

    One short transaction takes the batch (and leases it, so another server does not send it
    too); each message is then sent with no transaction open, and recorded in its own short
    transaction. A message that cannot be sent (server down or refusing, attachment missing,
    template broken by a deploy) is kept and retried later, never dropped, and never blocks the
    messages behind it.
    """
    with context.writing() as uow:
        batch = uow.outbox.due(now, limit)
        uow.outbox.lease([message.id for message in batch], now + LEASE)
        uow.commit()
    # Past half the lease, stop: the rest become due again when it ends, rather than being
    # picked up by another server while this one is still sending them.
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    sent = 0
    for message in batch:
        if time.monotonic() > deadline:
            break
        try:
            email = _compose(
                message,
                files=files,
                sender=sender,
                site_name=site_name,
                portal_url=portal_url,
                now=now,
            )
            transport.send(email)
        except (MailDeliveryError, OSError, TemplateError, ValueError) as error:
            _record_failure(context, message, now=now, error=error)
            continue
        with context.writing() as uow:
            if uow.outbox.mark_sent(message.id, now):
                sent += 1
            uow.commit()
    return sent


def retry_delay(attempts: int) -> timedelta:
    """The wait after a message's `attempts + 1`-th failure: 30 s, 1 min, 2 min, … 1 h."""
    # The exponent is capped before multiplying: 2**attempts after a week of failures would
    # overflow timedelta.
    return min(FIRST_RETRY * (1 << min(attempts, 16)), LONGEST_WAIT)  # 30 s * 2**attempts


def as_sent(message: OutboxMessage, *, site_name: str, portal_url: str = "") -> Rendered:
    """A queued or sent message as its recipient reads it (for support's pages)."""
    stored = json.loads(message.context)
    return render(
        message.template,
        _full_context(stored, to=message.to_address, site_name=site_name, portal_url=portal_url),
    )


def _full_context(
    stored: Mapping[str, Any], *, to: str, site_name: str, portal_url: str = ""
) -> dict[str, Any]:
    """What every template may use besides its own context: `portal_url` is the portal's
    sign-in page (empty where the server's public URL is not configured)."""
    return {"site_name": site_name, "account_email": to, "portal_url": portal_url, **stored}


def _compose(
    message: OutboxMessage,
    *,
    files: FileStore,
    sender: str,
    site_name: str,
    portal_url: str,
    now: datetime,
) -> EmailMessage:
    stored = json.loads(message.context)
    attachments = [
        Attachment(
            name=ref["name"], content_type=ref["content_type"], data=files.get(ref["sha256"])
        )
        for ref in json.loads(message.attachments)
    ]
    return compose(
        message.template,
        _full_context(stored, to=message.to_address, site_name=site_name, portal_url=portal_url),
        sender=sender,
        to=message.to_address,
        attachments=attachments,
        date=now,
    )


def _record_failure(
    context: ServiceContext, message: OutboxMessage, *, now: datetime, error: Exception
) -> None:
    attempts = message.attempts + 1
    retry_at = now + retry_delay(message.attempts)
    log.warning(
        "mail %s to %s failed (attempt %d), retrying at %s: %s",
        message.id,
        message.to_address,
        attempts,
        retry_at.isoformat(),
        error,
    )
    with context.writing() as uow:
        uow.outbox.mark_failed(message.id, attempts, retry_at, f"{type(error).__name__}: {error}")
        uow.commit()
