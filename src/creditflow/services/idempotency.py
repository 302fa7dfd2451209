"""Idempotent use cases: a key names one attempt; its repeats get the first answer back.

The key and the answer are stored in the same transaction as the effect, so a crash can never
leave an effect without its key, nor a key without its effect.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from creditflow.domain.errors import IdempotencyKeyReused, InvalidRequest
from creditflow.store.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)
MAX_KEY_LENGTH = 255


@dataclass
class IdempotencyKey:
    key: str
    fingerprint: str
    """A hash of what was asked: the same key with another request is refused."""
    scope: str = "python"
    """Whose keys these are (the API key's id over HTTP), so two callers never collide."""
    replayed: bool = False
    response: str | None = None
    """The stored JSON answer, set on replay and after the first run."""

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY_LENGTH or not self.key.isprintable():
            raise InvalidRequest(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
                field="Idempotency-Key",
            )


def fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps([operation, arguments], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recall(uow: UnitOfWork, key: IdempotencyKey, result_type: type[M]) -> M | None:
    stored = uow.idempotency.find(scope=key.scope, key=key.key)
    if stored is None:
        return None
    if stored.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request.",
            idempotency_key=key.key,
        )
    key.replayed = True
    key.response = stored.response
    return result_type.model_validate_json(stored.response)


def remember(uow: UnitOfWork, key: IdempotencyKey, result: BaseModel, *, now: datetime) -> bool:
    key.response = result.model_dump_json()
    return uow.idempotency.remember(
        scope=key.scope,
        key=key.key,
        fingerprint=key.fingerprint,
        response=key.response,
        now=now,
    )
