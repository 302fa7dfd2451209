"""Customer accounts: opening one, finding one."""

from __future__ import annotations

import re
from datetime import datetime

from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.domain.events import EventType
from creditflow.ids import new_id
from creditflow.services.events import emit
from creditflow.services.views import AccountView
from creditflow.store.records import AccountRecord
from creditflow.store.uow import UnitOfWork

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def create_account(
    uow: UnitOfWork, *, now: datetime, external_id: str, email: str, country: str | None
) -> AccountView:
    external_id = external_id.strip()
    if not external_id or len(external_id) > 255:
        raise InvalidRequest("external_id must be 1 to 255 characters.", field="external_id")
    if len(email) > 320 or not _EMAIL.match(email):
        raise InvalidRequest(f"{email!r} is not an email address.", field="email")
    if country is not None and not _COUNTRY.match(country):
        raise InvalidRequest(
            f"country must be an ISO 3166 two-letter code such as 'DE', not {country!r}.",
            field="country",
        )
    record = uow.accounts.add(
        id=new_id("acc"), external_id=external_id, email=email, country=country, now=now
    )
    view = account_view(record)
    emit(uow, EventType.ACCOUNT_CREATED, account_id=record.id, obj=view, now=now)
    return view


def require_account(uow: UnitOfWork, account_id: str, *, for_update: bool = False) -> AccountRecord:
    return found(uow.accounts.get(account_id, for_update=for_update), account_id)


def found(record: AccountRecord | None, account_id: str) -> AccountRecord:
    """The account read for `account_id`, or the NotFound every use case gives for it."""
    if record is None:
        raise NotFound(f"No account with id {account_id!r}.", account_id=account_id)
    return record


def account_view(record: AccountRecord) -> AccountView:
    return AccountView(
        id=record.id,
        external_id=record.external_id,
        email=record.email,
        country=record.country,
        status=record.status,
        created_at=record.created_at,
    )


def suspend(uow: UnitOfWork, *, account_id: str, why: str, now: datetime) -> None:
    """No spending, no buying, and the account's portal sessions end (`why`: `chargeback`
    or `support`)."""
    uow.accounts.set_status(account_id, "suspended", suspension=why)
    uow.web_sessions.end_all_of("portal", account_id, now)
    _tell(uow, EventType.ACCOUNT_SUSPENDED, account_id, now)


def reinstate(uow: UnitOfWork, *, account_id: str, now: datetime) -> None:
    uow.accounts.set_status(account_id, "active")
    _tell(uow, EventType.ACCOUNT_REINSTATED, account_id, now)


def _tell(uow: UnitOfWork, event_type: EventType, account_id: str, now: datetime) -> None:
    view = account_view(require_account(uow, account_id))
    emit(uow, event_type, account_id=account_id, obj=view, now=now)
