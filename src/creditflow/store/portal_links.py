"""Repository of one-time portal links, found by the hash of their token."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from creditflow.store.tables import portal_links


@dataclass(frozen=True, slots=True)
class PortalLinkRecord:
    id: str
    token_hash: str
    account_id: str
    via: str
    """`api` (minted by the site's backend) or `mail` (asked for by the member)."""
    return_url: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class PortalLinkRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: PortalLinkRecord) -> None:
        self._connection.execute(insert(portal_links).values(**asdict(record)))

    def by_token_hash(self, token_hash: str) -> PortalLinkRecord | None:
        row = self._connection.execute(
            select(portal_links).where(portal_links.c.token_hash == token_hash)
        ).first()
        return PortalLinkRecord(*row) if row else None

    def use(self, link_id: str, now: datetime) -> bool:
        """Mark the link used; False if another request used it first."""
        done = self._connection.execute(
            update(portal_links)
            .where(portal_links.c.id == link_id, portal_links.c.used_at.is_(None))
            .values(used_at=now)
        )
        return done.rowcount == 1

    def mailed_since(self, account_id: str, since: datetime) -> int:
        rows = self._connection.execute(
            select(portal_links.c.id).where(
                portal_links.c.account_id == account_id,
                portal_links.c.via == "mail",
                portal_links.c.created_at >= since,
            )
        ).all()
        return len(rows)
