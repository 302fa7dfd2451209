"""Calls to payment providers' APIs: recorded before they are made, made after the commit.

A checkout or a refund is first a row of `provider_calls`, written in the transaction that needs
it (with its order, or with the pending refund), and keyed by our own id, so the provider's
idempotency key is the same on every attempt. The call is made with no transaction open, and its
outcome is recorded in a transaction of its own. A call that failed for a reason that may pass
(the provider down, a time-out, a 5xx) is due again on the due-work queue after a back-off; one
the provider refused, or that ran out of tries, fails for good. Each kind of call says, through
`on_outcome`, what its success and its failure change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import NotFound, ProviderRefused, ProviderUnavailable
from creditflow.domain.retries import CLAIM_FOR, retry_delay
from creditflow.ids import new_id
from creditflow.payments.errors import ProviderError
from creditflow.payments.events import CheckoutRequest, RefundRequest
from creditflow.services.context import ServiceContext
from creditflow.store.provider_calls import ProviderCallRecord
from creditflow.store.uow import UnitOfWork

log = logging.getLogger(__name__)

PROVIDER_CALL = "provider_call"
CallKind = Literal["checkout", "refund"]
Answer = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallOutcome:
    call_id: str
    status: Literal["succeeded", "retrying", "failed"]
    """`retrying`: not answered yet; the due-work queue asks again after a back-off."""
    error: str | None

    def raise_unless_succeeded(self, what: str, **details: Any) -> None:
        """For a caller who waits on the call: a typed error that says what happens next."""
        if self.status == "retrying":
            raise ProviderUnavailable(
                f"{self.error} {what} is kept and asked for again in the background; a retry "
                "with the same Idempotency-Key waits for it instead of starting another.",
                **details,
            )
        if self.status == "failed":
            raise ProviderRefused(f"{self.error} {what} failed for good.", **details)


@dataclass(frozen=True, slots=True)
class OutcomeHandlers:
    succeeded: Callable[[UnitOfWork, Catalog, ProviderCallRecord, Answer, datetime], None]
    failed: Callable[[UnitOfWork, Catalog, ProviderCallRecord, datetime], None]


OUTCOMES: dict[str, OutcomeHandlers] = {}
"""What each kind of call changes once answered; its service module registers them."""


def on_outcome(kind: CallKind, handlers: OutcomeHandlers) -> None:
    OUTCOMES[kind] = handlers


def record_checkout(
    uow: UnitOfWork, *, order_id: str, provider: str, request: CheckoutRequest, now: datetime
) -> ProviderCallRecord:
    return _record(uow, "checkout", order_id, provider, asdict(request), now)


def record_refund(
    uow: UnitOfWork, *, refund_id: str, provider: str, request: RefundRequest, now: datetime
) -> ProviderCallRecord:
    return _record(uow, "refund", refund_id, provider, asdict(request), now)


def _record(
    uow: UnitOfWork,
    kind: CallKind,
    subject_id: str,
    provider: str,
    request: dict[str, Any],
    now: datetime,
) -> ProviderCallRecord:
    call = ProviderCallRecord(
        id=new_id("pcl"),
        kind=kind,
        subject_id=subject_id,
        provider=provider,
        request=json.dumps(request, sort_keys=True),
        status="pending",
        attempts=0,
        last_error=None,
        response=None,
        created_at=now,
        updated_at=now,
    )
    uow.provider_calls.add(call)
    # If this server dies before or during the first attempt, the queue makes it.
    uow.due_work.schedule(task=PROVIDER_CALL, subject_id=call.id, due_at=now + CLAIM_FOR, now=now)
    return call


def send_call_of(context: ServiceContext, kind: CallKind, subject_id: str) -> CallOutcome | None:
    """Make the call recorded for this order or refund (None if none was recorded)."""
    with context.reading() as uow:
        call = uow.provider_calls.of_subject(kind, subject_id)
    return send_call(context, call.id) if call is not None else None


def send_call(context: ServiceContext, call_id: str) -> CallOutcome:
    """One attempt, outside any transaction; a call already answered is not made again."""
    with context.reading() as uow:
        call = uow.provider_calls.get(call_id)
    if call is None:
        raise NotFound(f"No provider call with id {call_id!r}.", call_id=call_id)
    if call.status != "pending":
        return _outcome(call)
    answer: Answer | None = None
    error: ProviderError | None = None
    try:
        answer = _make(context, call)
    except ProviderError as failure:
        error = failure
        log.warning("%s call %s to %s failed: %s", call.kind, call.id, call.provider, failure)
    return context.run_plain(
        lambda uow: _settle(uow, context.catalog, call_id, answer, error, context.clock.now())
    )


def _make(context: ServiceContext, call: ProviderCallRecord) -> Answer:
    request = json.loads(call.request)
    if call.kind == "checkout":
        adapter = context.adapters.get(call.provider)
        if adapter is None:
            raise ProviderError(f"The {call.provider} provider is not configured here.")
        session = adapter.create_checkout(CheckoutRequest(**request))
        return {"url": session.url, "provider_ref": session.provider_ref}
    result = context.refunder(call.provider).refund(RefundRequest(**request))
    return {"provider_refund_id": result.provider_refund_id, "status": result.status}


def _settle(
    uow: UnitOfWork,
    catalog: Catalog,
    call_id: str,
    answer: Answer | None,
    error: ProviderError | None,
    now: datetime,
) -> CallOutcome:
    call = uow.provider_calls.get(call_id, for_update=True)
    assert call is not None
    if call.status != "pending":  # a concurrent attempt (same idempotency key) settled it
        return _outcome(call)
    attempts = call.attempts + 1
    handlers = OUTCOMES[call.kind]
    if answer is not None:
        call = call.evolve(
            status="succeeded", attempts=attempts, response=json.dumps(answer), updated_at=now
        )
        handlers.succeeded(uow, catalog, call, answer, now)
        uow.due_work.cancel(task=PROVIDER_CALL, subject_id=call.id)
    else:
        assert error is not None
        delay = retry_delay(call.kind, attempts=attempts) if error.retryable else None
        call = call.evolve(attempts=attempts, last_error=str(error), updated_at=now)
        if delay is None:
            call = call.evolve(status="failed")
            handlers.failed(uow, catalog, call, now)
            uow.due_work.cancel(task=PROVIDER_CALL, subject_id=call.id)
        else:
            uow.due_work.reschedule(
                task=PROVIDER_CALL, subject_id=call.id, due_at=now + delay, now=now
            )
    uow.provider_calls.save(call)
    return _outcome(call)


def _outcome(call: ProviderCallRecord) -> CallOutcome:
    status = "retrying" if call.status == "pending" else call.status
    return CallOutcome(call_id=call.id, status=status, error=call.last_error)  # type: ignore[arg-type]


def claim_due_call(uow: UnitOfWork, *, call_id: str, now: datetime) -> None:
    """Due work takes a call off the queue for one attempt: it comes back if this server dies."""
    uow.due_work.reschedule(task=PROVIDER_CALL, subject_id=call_id, due_at=now + CLAIM_FOR, now=now)
