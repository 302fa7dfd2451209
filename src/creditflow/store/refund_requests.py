"""Repository of refund requests, incidents and the audit trail."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from creditflow.store.tables import audit_events, incidents, refund_requests


@dataclass(frozen=True, slots=True)
class RefundRequestRecord:
    id: str
    order_id: str
    account_id: str
    reason: str
    description: str | None
    evidence: str
    """JSON list of {"kind", "ref"}."""
    job_ids: str
    """JSON list of job ids."""
    status: str
    recommendation: str
    """JSON: outcome, amount, credits and the rule trace, as computed at submission."""
    due_by: datetime
    overdue: bool
    created_at: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    refund_id: str | None

    def evolve(self, **changes: Any) -> RefundRequestRecord:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: str
    started_at: datetime
    ended_at: datetime | None
    summary: str
    created_at: datetime


_REQUEST_COLUMNS = [c for c in refund_requests.c if c.name != "seq"]


class OpenRequestExists(Exception):
    """The partial unique index saw a second open request for one order."""


class RefundRequestRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, record: RefundRequestRecord) -> None:
        try:
            with self._connection.begin_nested():
                self._connection.execute(insert(refund_requests).values(**asdict(record)))
        except IntegrityError as error:
            raise OpenRequestExists(record.order_id) from error

    def get(self, request_id: str, *, for_update: bool = False) -> RefundRequestRecord | None:
        query = select(*_REQUEST_COLUMNS).where(refund_requests.c.id == request_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().first()
        return RefundRequestRecord(**row) if row else None

    def open_for_order(self, order_id: str) -> RefundRequestRecord | None:
        row = (
            self._connection.execute(
                select(*_REQUEST_COLUMNS).where(
                    refund_requests.c.order_id == order_id, refund_requests.c.status == "in_review"
                )
            )
            .mappings()
            .first()
        )
        return RefundRequestRecord(**row) if row else None

    def save(self, record: RefundRequestRecord) -> None:
        values = asdict(record)
        values.pop("id")
        self._connection.execute(
            update(refund_requests).where(refund_requests.c.id == record.id).values(**values)
        )

    def page(
        self, *, status: str | None, before_seq: int | None, limit: int
    ) -> list[tuple[int, RefundRequestRecord]]:
        query = select(refund_requests.c.seq, *_REQUEST_COLUMNS)
        if status is not None:
            query = query.where(refund_requests.c.status == status)
        if before_seq is not None:
            query = query.where(refund_requests.c.seq < before_seq)
        rows = self._connection.execute(
            query.order_by(refund_requests.c.seq.desc()).limit(limit)
        ).mappings()
        return [
            (row["seq"], RefundRequestRecord(**{k: v for k, v in row.items() if k != "seq"}))
            for row in rows
        ]

    def queue(
        self, *, status: str | None, reason: str | None, limit: int
    ) -> list[RefundRequestRecord]:
        """Support's work list: overdue first, then by due date (any status if None)."""
        query = select(*_REQUEST_COLUMNS)
        if status is not None:
            query = query.where(refund_requests.c.status == status)
        if reason is not None:
            query = query.where(refund_requests.c.reason == reason)
        rows = self._connection.execute(
            query.order_by(
                refund_requests.c.overdue.desc(), refund_requests.c.due_by, refund_requests.c.seq
            ).limit(limit)
        ).mappings()
        return [RefundRequestRecord(**row) for row in rows]

    def of_account(self, account_id: str) -> list[RefundRequestRecord]:
        rows = self._connection.execute(
            select(*_REQUEST_COLUMNS)
            .where(refund_requests.c.account_id == account_id)
            .order_by(refund_requests.c.seq.desc())
        ).mappings()
        return [RefundRequestRecord(**row) for row in rows]

    def decided_since(self, since: datetime) -> list[RefundRequestRecord]:
        rows = self._connection.execute(
            select(*_REQUEST_COLUMNS).where(
                refund_requests.c.decided_at.is_not(None), refund_requests.c.decided_at >= since
            )
        ).mappings()
        return [RefundRequestRecord(**row) for row in rows]

    def open_by_due(self) -> list[RefundRequestRecord]:
        rows = self._connection.execute(
            select(*_REQUEST_COLUMNS)
            .where(refund_requests.c.status == "in_review")
            .order_by(refund_requests.c.due_by, refund_requests.c.seq)
        ).mappings()
        return [RefundRequestRecord(**row) for row in rows]

    def approved_since(self, account_ids: list[str], since: datetime) -> int:
        rows = self._connection.execute(
            select(refund_requests.c.id).where(
                refund_requests.c.account_id.in_(account_ids),
                refund_requests.c.status.in_(("approved", "partially_approved")),
                refund_requests.c.decided_at >= since,
            )
        )
        return len(rows.all())

    # Incidents

    def add_incident(self, record: IncidentRecord) -> None:
        self._connection.execute(insert(incidents).values(**asdict(record)))

    def incident(self, incident_id: str) -> IncidentRecord | None:
        row = (
            self._connection.execute(select(incidents).where(incidents.c.id == incident_id))
            .mappings()
            .first()
        )
        return IncidentRecord(**row) if row else None

    def end_incident(self, incident_id: str, ended_at: datetime) -> None:
        self._connection.execute(
            update(incidents).where(incidents.c.id == incident_id).values(ended_at=ended_at)
        )

    def incidents_overlapping(self, start: datetime, end: datetime) -> list[IncidentRecord]:
        rows = self._connection.execute(
            select(incidents).where(
                incidents.c.started_at <= end,
                (incidents.c.ended_at.is_(None)) | (incidents.c.ended_at >= start),
            )
        ).mappings()
        return [IncidentRecord(**row) for row in rows]

    def all_incidents(self) -> list[IncidentRecord]:
        rows = self._connection.execute(
            select(incidents).order_by(incidents.c.started_at.desc())
        ).mappings()
        return [IncidentRecord(**row) for row in rows]

    # Audit

    def audit(
        self, *, at: datetime, actor: str, action: str, subject_id: str, detail: dict[str, Any]
    ) -> None:
        self._connection.execute(
            insert(audit_events).values(
                at=at,
                actor=actor,
                action=action,
                subject_id=subject_id,
                detail=json.dumps(detail, default=str, sort_keys=True),
            )
        )

    def audit_page(
        self, *, actor: str | None, action: str | None, before_seq: int | None, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """The audit log, newest first, of one staff member or one action if asked."""
        query = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
        if actor:
            query = query.where(audit_events.c.actor == actor)
        if action:
            query = query.where(audit_events.c.action == action)
        if before_seq is not None:
            query = query.where(audit_events.c.seq < before_seq)
        return [
            (row["seq"], {**row, "detail": json.loads(row["detail"])})
            for row in self._connection.execute(query).mappings()
        ]

    def audit_actions(self) -> list[str]:
        """Every action the log holds, in order: one step of `ix_audit_events_action` per
        action (the next one after the last), so a log of millions of rows is not scanned."""
        action = audit_events.c.action
        found = select(func.min(action).label("action")).cte("found", recursive=True)
        following = select(func.min(action)).where(action > found.c.action).scalar_subquery()
        found = found.union_all(select(following).where(found.c.action.is_not(None)))
        rows = self._connection.execute(select(found.c.action).where(found.c.action.is_not(None)))
        return sorted(row.action for row in rows)

    def audit_of(self, subject_id: str) -> list[dict[str, Any]]:
        rows = self._connection.execute(
            select(audit_events)
            .where(audit_events.c.subject_id == subject_id)
            .order_by(audit_events.c.seq)
        ).mappings()
        return [
            {
                "at": row["at"],
                "actor": row["actor"],
                "action": row["action"],
                "detail": json.loads(row["detail"]),
            }
            for row in rows
        ]
