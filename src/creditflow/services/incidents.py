"""Outages, recorded by support: the `service_outage` refund rule looks at them (source 001)."""

from __future__ import annotations

from datetime import datetime

from creditflow.domain.errors import Conflict, InvalidRequest, NotFound
from creditflow.ids import new_id
from creditflow.services.views import IncidentView
from creditflow.store.refund_requests import IncidentRecord
from creditflow.store.uow import UnitOfWork


def record_incident(
    uow: UnitOfWork,
    *,
    now: datetime,
    started_at: datetime,
    ended_at: datetime | None,
    summary: str,
    actor: str,
) -> IncidentView:
    if not summary.strip():
        raise InvalidRequest("An incident needs a summary.", field="summary")
    if ended_at is not None and ended_at < started_at:
        raise InvalidRequest("ended_at is before started_at.", field="ended_at")
    if started_at > now:
        raise InvalidRequest("started_at is in the future.", field="started_at")
    record = IncidentRecord(
        id=new_id("inc"),
        started_at=started_at,
        ended_at=ended_at,
        summary=summary.strip(),
        created_at=now,
    )
    uow.refund_requests.add_incident(record)
    uow.refund_requests.audit(
        at=now,
        actor=actor,
        action="incident_recorded",
        subject_id=record.id,
        detail={"started_at": started_at, "ended_at": ended_at, "summary": summary},
    )
    return incident_view(record)


def resolve_incident(
    uow: UnitOfWork, *, now: datetime, incident_id: str, ended_at: datetime, actor: str
) -> IncidentView:
    record = uow.refund_requests.incident(incident_id)
    if record is None:
        raise NotFound(f"No incident with id {incident_id!r}.", incident_id=incident_id)
    if record.ended_at is not None:
        raise Conflict(f"Incident {record.id} is resolved already.", code="incident_resolved")
    if ended_at < record.started_at:
        raise InvalidRequest("ended_at is before the incident started.", field="ended_at")
    uow.refund_requests.end_incident(record.id, ended_at)
    uow.refund_requests.audit(
        at=now,
        actor=actor,
        action="incident_resolved",
        subject_id=record.id,
        detail={"ended_at": ended_at},
    )
    resolved = uow.refund_requests.incident(record.id)
    assert resolved is not None
    return incident_view(resolved)


def list_incidents(uow: UnitOfWork) -> list[IncidentView]:
    return [incident_view(r) for r in uow.refund_requests.all_incidents()]


def incident_view(record: IncidentRecord) -> IncidentView:
    return IncidentView(
        id=record.id,
        started_at=record.started_at,
        ended_at=record.ended_at,
        summary=record.summary,
        created_at=record.created_at,
    )
