"""Repository of the mail outbox: mail written with the change that causes it, sent later."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from creditflow.store.raw_sql import Driver
from creditflow.store.tables import mail_outbox

ERROR_KEPT = 2000
"""Characters of the last delivery error kept: enough to diagnose, never a runaway traceback."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    account_id: str | None
    to_address: str
    template: str
    context: str
    """The template's context as JSON text, frozen when the mail was queued."""
    attachments: str
    """JSON list of {"sha256", "name", "content_type"} of files in the file store."""
    status: str
    attempts: int
    """Failed deliveries so far: drives the back-off."""
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


_COLUMNS = [c for c in mail_outbox.c if c.name != "seq"]


class OutboxRepository:
    def __init__(self, connection: Connection, driver: Driver) -> None:
        self._connection = connection
        self._driver = driver

    def add(self, message: OutboxMessage) -> None:
        # Every renewal queues a receipt: its fields as they are (`asdict` deep-copies).
        self._driver.insert(
            mail_outbox, {f.name: getattr(message, f.name) for f in fields(message)}
        )

    def get(self, message_id: str) -> OutboxMessage | None:
        row = (
            self._connection.execute(select(*_COLUMNS).where(mail_outbox.c.id == message_id))
            .mappings()
            .first()
        )
        return OutboxMessage(**row) if row else None

    def due(self, now: datetime, limit: int) -> builtins.list[OutboxMessage]:
        """Pending mail whose time has come, oldest first; rows another deliverer has locked
        are skipped (PostgreSQL), and SQLite's single writer serialises deliverers anyway."""
        query = (
            select(*_COLUMNS)
            .where(mail_outbox.c.status == "pending", mail_outbox.c.next_attempt_at <= now)
            .order_by(mail_outbox.c.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [OutboxMessage(**row) for row in self._connection.execute(query).mappings()]

    def lease(self, message_ids: Sequence[str], until: datetime) -> None:
        """Hide pending messages from other deliverers until `until`, while one sends them.

        A row lock lasts only as long as the transaction that reads the batch, and sending
        happens after it; moving `next_attempt_at` is what keeps a second server from sending
        the same batch. If the sender dies, the mail simply becomes due again at `until`.
        """
        if message_ids:
            self._connection.execute(
                update(mail_outbox)
                .where(mail_outbox.c.id.in_(list(message_ids)), mail_outbox.c.status == "pending")
                .values(next_attempt_at=until)
            )

    def mark_sent(self, message_id: str, now: datetime) -> bool:
        """Record a delivery once; False if the message was already marked sent."""
        done = self._connection.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id == message_id, mail_outbox.c.status == "pending")
            .values(status="sent", sent_at=now, last_error=None)
        )
        return done.rowcount == 1

    def mark_failed(
        self, message_id: str, attempts: int, next_attempt_at: datetime, error: str
    ) -> bool:
        """Count a failed delivery and set the next try; False if it was sent meanwhile."""
        done = self._connection.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id == message_id, mail_outbox.c.status == "pending")
            .values(
                attempts=attempts, next_attempt_at=next_attempt_at, last_error=error[:ERROR_KEPT]
            )
        )
        return done.rowcount == 1

    def pending_count(self) -> int:
        return int(
            self._connection.execute(
                select(func.count())
                .select_from(mail_outbox)
                .where(mail_outbox.c.status == "pending")
            ).scalar_one()
        )

    def list(self, account_id: str | None = None, limit: int = 100) -> builtins.list[OutboxMessage]:
        """The newest messages first, of one account or of all."""
        query = select(*_COLUMNS)
        if account_id is not None:
            query = query.where(mail_outbox.c.account_id == account_id)
        rows = self._connection.execute(query.order_by(mail_outbox.c.seq.desc()).limit(limit))
        return [OutboxMessage(**row) for row in rows.mappings()]

    def set_attachments(self, message_id: str, attachments: str) -> None:
        """Attach files to a message still waiting (an invoice PDF rendered after the payment)."""
        self._connection.execute(
            update(mail_outbox)
            .where(mail_outbox.c.id == message_id, mail_outbox.c.status == "pending")
            .values(attachments=attachments)
        )
