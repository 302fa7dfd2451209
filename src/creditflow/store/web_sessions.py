"""Repository of browser sessions (console and portal), kept by the hash of their token."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditflow.store.tables import web_sessions


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    """The SHA-256 of the cookie's token."""
    kind: str
    subject_id: str
    """A staff member (console) or an account (portal)."""
    csrf: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None


class WebSessionRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: SessionRecord) -> None:
        self._connection.execute(insert(web_sessions).values(**asdict(record)))

    def get(self, session_id: str) -> SessionRecord | None:
        row = self._connection.execute(
            select(web_sessions).where(web_sessions.c.id == session_id)
        ).first()
        return SessionRecord(*row) if row else None

    def touch(self, session_id: str, now: datetime) -> None:
        self._connection.execute(
            update(web_sessions).where(web_sessions.c.id == session_id).values(last_seen_at=now)
        )

    def end(self, session_id: str, now: datetime) -> None:
        self._connection.execute(
            update(web_sessions)
            .where(web_sessions.c.id == session_id, web_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    def end_all_of(self, kind: str, subject_id: str, now: datetime) -> None:
        self._connection.execute(
            update(web_sessions)
            .where(
                web_sessions.c.kind == kind,
                web_sessions.c.subject_id == subject_id,
                web_sessions.c.ended_at.is_(None),
            )
            .values(ended_at=now)
        )
