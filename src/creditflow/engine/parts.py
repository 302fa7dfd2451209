"""What every part of the engine has: the service context, and one way to each use case.

The engine is composed of parts (accounts, billing, jobs, payments, support, operations), each
an object over the same `ServiceContext`. A part's method calls one use case of
`creditflow.services` with its arguments spelt out, through `_once` (one transaction, at most
once per idempotency key), `services.idempotency.run_in_steps` (work between transactions),
`_plain` or `_read`. `delegate` puts a part's method on `Engine` with its exact signature, so a
type checker follows every call from the engine to the use case.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from pydantic import BaseModel

from creditflow.services.context import ServiceContext
from creditflow.services.idempotency import (
    IdempotencyKey,
    fingerprint,
    run_grouped,
    run_grouped_async,
    run_once,
)
from creditflow.store.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
P = ParamSpec("P")
PartT = TypeVar("PartT", bound="Part")
IdempotencyArg = str | IdempotencyKey | None


@dataclass(frozen=True)
class GroupedWrite(Generic[M]):
    """A ledger write of one account for its group-commit writer: spends, holds and their ends."""

    account_id: str
    """The account it locks: it names the writer (PostgreSQL shards) and the order in a batch."""
    key: IdempotencyKey | None
    result_type: type[M]
    use_case: Callable[[UnitOfWork, datetime], M]


class Part:
    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.catalog = context.catalog
        self.clock = context.clock
        self.files = context.files

    def _once(
        self,
        key: IdempotencyKey | None,
        result_type: type[M],
        use_case: Callable[[UnitOfWork, datetime], M],
    ) -> M:
        return run_once(self.context, key, result_type, use_case)

    @property
    def _sharded(self) -> bool:
        """Whether ledger writes go to one of several writers, chosen by account."""
        return self.context.writers.sharded

    def _grouped(self, write: GroupedWrite[M]) -> M:
        return run_grouped(
            self.context, write.account_id, write.key, write.result_type, write.use_case
        )

    async def _grouped_async(self, write: GroupedWrite[M]) -> M:
        return await run_grouped_async(
            self.context, write.account_id, write.key, write.result_type, write.use_case
        )

    def _plain(self, use_case: Callable[[UnitOfWork], R]) -> R:
        return self.context.run_plain(use_case)

    def _read(self, use_case: Callable[[UnitOfWork], R]) -> R:
        with self.context.reading() as uow:
            return use_case(uow)

    def _rehearse(self, use_case: Callable[[UnitOfWork, datetime], R]) -> R:
        """Run a use case in a transaction that is never committed: nothing it did stays, and
        no provider is called (calls go out only after a commit). What confirmation pages show
        is the use case's own answer, to the unit."""
        with self.context.writing() as uow:
            return use_case(uow, self.clock.now())


def key_for(key: IdempotencyArg, operation: str, *arguments: object) -> IdempotencyKey | None:
    """A Python caller's key, fingerprinted by what it asked; an HTTP key comes made (its
    fingerprint is the request's method, path and body)."""
    if isinstance(key, str):
        return IdempotencyKey(key=key, fingerprint=fingerprint(operation, {"args": arguments}))
    return key


def delegate(
    part: str, method: Callable[Concatenate[PartT, P], R]
) -> Callable[Concatenate[Any, P], R]:
    """An engine method that is `method` of the part the engine keeps in attribute `part`."""

    def forward(engine: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(getattr(engine, part), *args, **kwargs)

    return functools.update_wrapper(forward, method)
