"""Idempotent use cases: a key names one attempt; its repeats get the first answer back.

One mechanism for every use case. The answer is stored in the transaction of the last effect,
so a crash never leaves an effect without its key, nor a key without its effect, and what is
stored is what the caller got. A use case that calls a provider between two transactions
(a checkout, a refund) binds the key to what its first transaction started (the order, the
refund): a failure after that stores no answer, and a retry with the key resumes that work
instead of starting more, so the same key never makes two orders or two refunds. A refused
request stores nothing at all: a retry after the cause is fixed does the work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Connection

from creditflow.domain.errors import Conflict, IdempotencyKeyReused, InvalidRequest
from creditflow.domain.ledger import Transfer
from creditflow.services.context import ServiceContext
from creditflow.store.group_commit import RunIsolated
from creditflow.store.idempotency import StoredKey
from creditflow.store.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)
MAX_KEY_LENGTH = 255
RACES = 3
"""How often a use case is run again after another transaction stored its key first."""


@dataclass
class IdempotencyKey:
    key: str
    fingerprint: str
    """A hash of what was asked: the same key with another request is refused."""
    scope: str = "python"
    """Whose keys these are (the API key's id over HTTP), so two callers never collide."""
    replayed: bool = False
    """Set when the answer came from the store rather than from running the use case."""
    response: str | None = None
    """The answer stored under this key, as JSON: what an HTTP caller gets, encoded once."""

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > MAX_KEY_LENGTH or not self.key.isprintable():
            raise InvalidRequest(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters.",
                field="Idempotency-Key",
            )


def fingerprint(operation: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps([operation, arguments], sort_keys=True, default=_canonical)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _canonical(value: object) -> object:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


def run_once(
    context: ServiceContext,
    key: IdempotencyKey | None,
    result_type: type[M],
    use_case: Callable[[UnitOfWork, datetime], M],
) -> M:
    """A use case of one transaction, at most once per key; the answer stored with the effect.

    When two callers race with one key on PostgreSQL, the loser's transaction is rolled back
    and it gets the winner's answer.
    """
    for _ in range(RACES):
        with context.writing() as uow:
            result = _once_in(context, uow, key, result_type, use_case)
        if result is None:
            continue  # another transaction stored the key first: look again
        if uow.posted:
            context.on_posted(uow.posted)
        return result
    raise RuntimeError("idempotency key kept changing hands")  # pragma: no cover


def _once_in(
    context: ServiceContext,
    uow: UnitOfWork,
    key: IdempotencyKey | None,
    result_type: type[M],
    use_case: Callable[[UnitOfWork, datetime], M],
) -> M | None:
    """The stored answer, or the use case's with its key stored and the unit committed; None if
    another transaction stored the key first (nothing is committed then)."""
    stored = _look_up(uow, key)
    if stored is not None:
        assert key is not None
        return _replay(key, stored, result_type)
    now = context.clock.now()
    result = use_case(uow, now)
    if key is not None and not _store(uow, key, result, now):
        return None
    uow.commit()
    return result


def _store(uow: UnitOfWork, key: IdempotencyKey, result: BaseModel, now: datetime) -> bool:
    """Store the answer under the key; False if another transaction stored the key first."""
    response = result.model_dump_json()
    if not uow.idempotency.add(
        scope=key.scope, key=key.key, fingerprint=key.fingerprint, response=response, now=now
    ):
        return False
    key.response = response
    return True


def run_grouped(
    context: ServiceContext,
    account_id: str,
    key: IdempotencyKey | None,
    result_type: type[M],
    use_case: Callable[[UnitOfWork, datetime], M],
) -> M:
    """As `run_once`, written by the account's group-commit writer: one fsync for every request
    that arrived with this one, each still all or nothing, and the answer once it is durable."""
    result, posted = context.writers.run(
        account_id, _grouped_work(context, key, result_type, use_case)
    )
    if posted:
        context.on_posted(posted)
    return result


async def run_grouped_async(
    context: ServiceContext,
    account_id: str,
    key: IdempotencyKey | None,
    result_type: type[M],
    use_case: Callable[[UnitOfWork, datetime], M],
) -> M:
    """As `run_grouped`, awaited on the event loop (which never waits for the database)."""
    work = _grouped_work(context, key, result_type, use_case)
    result, posted = await context.writers.run_async(account_id, work)
    if posted:
        context.on_posted(posted)
    return result


def _grouped_work(
    context: ServiceContext,
    key: IdempotencyKey | None,
    result_type: type[M],
    use_case: Callable[[UnitOfWork, datetime], M],
) -> Callable[[Connection], tuple[M, list[Transfer]]]:
    def work(connection: Connection) -> tuple[M, list[Transfer]]:
        for _ in range(RACES):
            with context.within(connection) as uow:
                if key is not None and not uow.in_savepoint:
                    return _first_try(uow, key)
                result = _once_in(context, uow, key, result_type, use_case)
            if result is not None:
                return result, uow.posted
        raise RuntimeError("idempotency key kept changing hands")  # pragma: no cover

    def _first_try(uow: UnitOfWork, key: IdempotencyKey) -> tuple[M, list[Transfer]]:
        """A keyed request on a batch's first try: no look-up, one statement for the key.

        Almost every key is new, so the use case runs first and the key is stored after it;
        if the key was there (a retry, a reuse) or the use case refused (a retry may be owed
        its first answer), the batch runs again in savepoints, where the key is looked up
        first and the stored answer replayed."""
        now = context.clock.now()
        try:
            result = use_case(uow, now)
        except Exception as error:
            raise RunIsolated from error
        if not _store(uow, key, result, now):
            raise RunIsolated
        uow.commit()
        return result, uow.posted

    return work


def run_in_steps(
    context: ServiceContext,
    key: IdempotencyKey | None,
    result_type: type[M],
    *,
    begin: Callable[[UnitOfWork, datetime], str],
    proceed: Callable[[str], None],
    finish: Callable[[UnitOfWork, str], M],
) -> M:
    """A use case with work between transactions (a provider call), at most once per key.

    `begin` does the first transaction's work and names what it started; `proceed` does what
    must happen with no transaction open, and may raise (the key then stays bound to what was
    started, with no answer); `finish` reads the answer in the last transaction, which stores
    it. A repeat of a key whose work was started resumes at `proceed`.
    """
    stored = None
    if key is not None:
        with context.reading() as uow:
            stored = _look_up(uow, key)
    if stored is None:
        stored = _begin(context, key, begin)
    if stored.response is not None:
        assert key is not None
        return _replay(key, stored, result_type)
    assert stored.subject_id is not None
    proceed(stored.subject_id)
    with context.writing() if key is not None else context.reading() as uow:
        result = finish(uow, stored.subject_id)
        if key is not None and not uow.idempotency.answer(
            scope=key.scope, key=key.key, response=result.model_dump_json()
        ):
            # A concurrent retry of the same key answered first: its answer is the one.
            answered = _look_up(uow, key)
            assert answered is not None
            return _replay(key, answered, result_type)
        uow.commit()
    return result


def _begin(
    context: ServiceContext,
    key: IdempotencyKey | None,
    begin: Callable[[UnitOfWork, datetime], str],
) -> StoredKey:
    """Run the first transaction and bind the key to what it started; or find the key bound."""
    for _ in range(RACES):
        with context.writing() as uow:
            stored = _look_up(uow, key)
            if stored is not None:  # stored since we looked, by another caller
                return stored
            subject = begin(uow, context.clock.now())
            if key is not None and not uow.idempotency.add(
                scope=key.scope,
                key=key.key,
                fingerprint=key.fingerprint,
                subject_id=subject,
                now=context.clock.now(),
            ):
                continue
            uow.commit()
        if uow.posted:
            context.on_posted(uow.posted)
        return StoredKey(fingerprint="", response=None, subject_id=subject)
    raise RuntimeError("idempotency key kept changing hands")  # pragma: no cover


def _look_up(uow: UnitOfWork, key: IdempotencyKey | None) -> StoredKey | None:
    if key is None:
        return None
    stored = uow.idempotency.find(scope=key.scope, key=key.key)
    if stored is not None and stored.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request.",
            idempotency_key=key.key,
        )
    return stored


def _replay(key: IdempotencyKey, stored: StoredKey, result_type: type[M]) -> M:
    if stored.response is None:
        raise Conflict(
            "The request of this Idempotency-Key is still under way; retry it in a moment.",
            code="idempotency_key_in_use",
            idempotency_key=key.key,
        )
    key.replayed = True
    key.response = stored.response
    return result_type.model_validate_json(stored.response)
