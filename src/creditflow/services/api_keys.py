"""API keys with roles: only a SHA-256 of each secret is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from creditflow.domain.errors import InvalidRequest
from creditflow.ids import new_id
from creditflow.services.views import ApiKeyView
from creditflow.store.uow import UnitOfWork

ROLES = ("admin", "service", "support", "worker")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    uow: UnitOfWork, *, now: datetime, role: str, label: str | None = None
) -> ApiKeyView:
    if role not in ROLES:
        raise InvalidRequest(f"Unknown role {role!r}; roles are {', '.join(ROLES)}.", field="role")
    secret = f"cf_{role}_{secrets.token_urlsafe(32)}"
    record = uow.api_keys.add(
        id=new_id("key"), role=role, secret_hash=hash_secret(secret), label=label, now=now
    )
    return ApiKeyView(id=record.id, role=record.role, secret=secret, label=record.label)
