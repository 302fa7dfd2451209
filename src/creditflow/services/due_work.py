"""The due-work queue, worked in time order.

Everything the clock makes happen (expiries, hold time-outs, and in later releases renewals
and daily resets) is a row in `due_work`. The background loop works what is due now; the test
clock works everything due up to the instant it is moved to, moving itself to each item's time
first, so handlers see the time they were due at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from creditflow.clock import TestClock
from creditflow.services.context import ServiceContext
from creditflow.services.credits import EXPIRE_GRANT, NOTICE_EXPIRING, notice_expiring
from creditflow.services.expiry import expire_grant
from creditflow.services.holds import RELEASE_HOLD, release_timed_out_hold
from creditflow.services.jobs import JOB_TIMEOUT, time_out_job
from creditflow.services.provider_calls import PROVIDER_CALL, claim_due_call, send_call
from creditflow.services.refund_requests import REFUND_OVERDUE, flag_overdue
from creditflow.services.subscriptions import (
    INCOMPLETE_EXPIRY,
    SUBSCRIPTION_CYCLE,
    SUBSCRIPTION_RETRY,
    expire_incomplete,
    retry_renewal,
    run_cycle,
)
from creditflow.store.records import DueItem
from creditflow.store.uow import UnitOfWork

log = logging.getLogger(__name__)

DueHandler = Callable[[ServiceContext, UnitOfWork, datetime, str], None]

HANDLERS: dict[str, DueHandler] = {
    EXPIRE_GRANT: lambda _, uow, now, subject: expire_grant(uow, now=now, grant_id=subject),
    NOTICE_EXPIRING: lambda _, uow, now, subject: notice_expiring(uow, now=now, grant_id=subject),
    RELEASE_HOLD: lambda _, uow, now, subject: release_timed_out_hold(
        uow, now=now, hold_id=subject
    ),
    SUBSCRIPTION_CYCLE: lambda context, uow, now, subject: run_cycle(
        uow,
        catalog=context.catalog,
        providers=context.providers,
        now=now,
        subscription_id=subject,
    ),
    SUBSCRIPTION_RETRY: lambda context, uow, now, subject: retry_renewal(
        uow,
        catalog=context.catalog,
        providers=context.providers,
        now=now,
        subscription_id=subject,
    ),
    INCOMPLETE_EXPIRY: lambda context, uow, now, subject: expire_incomplete(
        uow, catalog=context.catalog, now=now, subscription_id=subject
    ),
    REFUND_OVERDUE: lambda _, uow, now, subject: flag_overdue(uow, now=now, request_id=subject),
    JOB_TIMEOUT: lambda context, uow, now, subject: time_out_job(
        uow, catalog=context.catalog, now=now, job_id=subject
    ),
}
RETRY_AFTER = timedelta(minutes=5)

Callout = Callable[[ServiceContext, str], object]
CALLOUTS: dict[str, Callout] = {
    PROVIDER_CALL: lambda context, call_id: send_call(context, call_id),
}
"""Due work that calls out over the network: taken off the queue in a transaction (and due
again a little later, in case this server dies), then worked with no transaction open."""


def run_due_work(
    context: ServiceContext,
    *,
    until: datetime,
    test_clock: TestClock | None = None,
    limit: int | None = None,
) -> int:
    """Work every item due at or before `until`, each in its own transaction; return the count.

    `test_clock`, when given, is moved to each item's due time before the item runs, and its
    position is saved in the item's transaction.
    """
    processed = 0
    while limit is None or processed < limit:
        try:
            item = context.run_plain(lambda uow: _work_next(context, uow, until, test_clock))
            if item is not None and item.task in CALLOUTS:
                try:
                    CALLOUTS[item.task](context, item.subject_id)
                except Exception as error:
                    raise DueWorkFailed(item) from error
        except DueWorkFailed as failure:
            if test_clock is not None:
                raise  # under the test clock a failure is a bug to see, not to skip
            log.exception("due work %s failed; retrying later", failure.item)
            postpone_failed(context, failure.item)
            continue
        if item is None:
            return processed
        processed += 1
    return processed


class DueWorkFailed(RuntimeError):
    def __init__(self, item: DueItem) -> None:
        super().__init__(f"due work {item.task} {item.subject_id} failed")
        self.item = item


def _work_next(
    context: ServiceContext,
    uow: UnitOfWork,
    until: datetime,
    test_clock: TestClock | None,
) -> DueItem | None:
    item = uow.due_work.next_due(until)
    if item is None:
        return None
    if test_clock is not None:
        test_clock.move_to(item.due_at)
        uow.clock_state.save(test_clock.now())
    # Taken off the queue first: the handler may queue the same task for the same subject again
    # (a retry, the next cycle); a failure rolls both back.
    uow.due_work.done(item)
    if item.task in CALLOUTS:
        claim_due_call(uow, call_id=item.subject_id, now=context.clock.now())
        return item
    handler = HANDLERS.get(item.task)
    if handler is None:
        log.error("no handler for due work %s (%s); dropping it", item.task, item.subject_id)
    else:
        try:
            handler(context, uow, context.clock.now(), item.subject_id)
        except Exception as error:
            raise DueWorkFailed(item) from error
    return item


def postpone_failed(context: ServiceContext, item: DueItem) -> None:
    """Move an item that raised out of the way, so one bad row cannot stall the queue."""

    def postpone(uow: UnitOfWork) -> None:
        uow.due_work.done(item)
        uow.due_work.schedule(
            task=item.task,
            subject_id=item.subject_id,
            due_at=context.clock.now() + RETRY_AFTER,
            now=context.clock.now(),
        )

    context.run_plain(postpone)
