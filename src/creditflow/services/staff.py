"""Staff of the support console: who they are, their role, and signing them in.

Passwords are argon2id hashes (argon2-cffi's defaults, rehashed when those change). Sign-in is
refused for a while after five failures in fifteen minutes, counted per email and per address,
so neither guessing one account's password nor trying many accounts from one place pays off.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from creditflow.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from creditflow.ids import new_id
from creditflow.store.staff import StaffRecord
from creditflow.store.uow import UnitOfWork

ROLES = ("support", "admin")
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 12
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
_NOBODY = _hasher.hash(secrets.token_urlsafe(18))
"""Checked against when no active member has the email, so an answer takes as long either way
and its timing does not tell which emails belong to staff."""


class TooManyAttempts(Forbidden):
    code = "too_many_attempts"


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    email: str
    role: str
    status: str
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_password() -> str:
    return secrets.token_urlsafe(18)


def create_staff(
    uow: UnitOfWork, *, email: str, role: str, password: str, now: datetime
) -> StaffMember:
    email = email.strip()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidRequest(f"{email!r} is not an email address.", field="email")
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}.", field="role")
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"A password needs at least {MIN_PASSWORD} characters.", field="password"
        )
    if uow.staff.by_email(email) is not None:
        raise Conflict(f"{email} is already a staff member.", code="staff_exists")
    record = StaffRecord(
        id=new_id("stf"),
        email=email,
        role=role,
        password_hash=_hasher.hash(password),
        status="active",
        created_at=now,
        disabled_at=None,
    )
    uow.staff.add(record)
    return member(record)


def disable_staff(uow: UnitOfWork, *, email: str, now: datetime) -> StaffMember:
    record = uow.staff.by_email(email)
    if record is None:
        raise NotFound(f"No staff member {email}.", email=email)
    if record.status == "active":
        uow.staff.disable(record.id, now)
        uow.web_sessions.end_all_of("console", record.id, now)
    disabled = uow.staff.get(record.id)
    assert disabled is not None
    return member(disabled)


def list_staff(uow: UnitOfWork) -> list[StaffMember]:
    return [member(record) for record in uow.staff.listed()]


def authenticate(
    uow: UnitOfWork, *, email: str, password: str, address: str, now: datetime
) -> StaffMember | None:
    """The staff member these credentials name, or None (and the failure counted)."""
    keys = [f"email:{email.strip().lower()}", f"address:{address}"]
    if any(uow.staff.failures_since(k, now - FAILURE_WINDOW) >= MAX_FAILURES for k in keys):
        raise TooManyAttempts(
            f"Too many failed sign-ins; try again in {FAILURE_WINDOW.seconds // 60} minutes.",
        )
    record = uow.staff.by_email(email.strip())
    if record is None or record.status != "active":
        _verifies(_NOBODY, password)
        uow.staff.add_failure(keys, now)
        return None
    if not _verifies(record.password_hash, password):
        uow.staff.add_failure(keys, now)
        return None
    if _hasher.check_needs_rehash(record.password_hash):
        uow.staff.set_password_hash(record.id, _hasher.hash(password))
    uow.staff.forget_failures(keys[0])
    return member(record)


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def member(record: StaffRecord) -> StaffMember:
    return StaffMember(
        id=record.id,
        email=record.email,
        role=record.role,
        status=record.status,
        created_at=record.created_at,
    )
