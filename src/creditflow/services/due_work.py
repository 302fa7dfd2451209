"""The due-work queue, worked in time order.

Everything the clock makes happen (expiries, hold time-outs, and in later releases renewals
and daily resets) is a row in `due_work`. The background loop works what is due now; the test
clock works everything due up to the instant it is moved to, moving itself to each item's time
first, so handlers see the time they were due at.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditflow.clock import TestClock
from creditflow.domain.ledger import Transfer
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
from creditflow.store.group_commit import SAVEPOINTS
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


BATCH_ITEMS = 200
BATCH_SECONDS = 0.05
"""A transaction works due items until it has done this many, or for this long: one commit
for many renewals, yet never holding the write lock long enough to keep a spend waiting."""


def run_due_work(
    context: ServiceContext,
    *,
    until: datetime,
    test_clock: TestClock | None = None,
    limit: int | None = None,
) -> int:
    """Work every item due at or before `until`, in time order; return the count.

    Items are worked many to a transaction, each in a savepoint of its own: an item that fails
    is undone alone and the ones before it commit. An item that calls out over the network
    ends its transaction, so the call goes out only once its claim is committed.
    `test_clock`, when given, is moved to each item's due time before the item runs, and its
    position is saved in the transaction that works the item.
    """
    processed = 0
    while limit is None or processed < limit:
        room = BATCH_ITEMS if limit is None else min(BATCH_ITEMS, limit - processed)
        try:
            batch = _work_batch(context, until, test_clock, room)
            processed += batch.worked
            if batch.callout is not None:
                try:
                    CALLOUTS[batch.callout.task](context, batch.callout.subject_id)
                except Exception as error:
                    raise DueWorkFailed(batch.callout) from error
            if batch.failure is not None:
                raise batch.failure
        except DueWorkFailed as failure:
            if test_clock is not None:
                raise  # under the test clock a failure is a bug to see, not to skip
            log.exception("due work %s failed; retrying later", failure.item)
            postpone_failed(context, failure.item)
            continue
        if batch.drained:
            return processed
    return processed


class DueWorkFailed(RuntimeError):
    def __init__(self, item: DueItem) -> None:
        super().__init__(f"due work {item.task} {item.subject_id} failed")
        self.item = item


@dataclass
class _Batch:
    worked: int = 0
    drained: bool = False
    """Nothing more was due."""
    callout: DueItem | None = None
    """An item claimed in this transaction whose call goes out now that it is committed."""
    failure: DueWorkFailed | None = None


def _work_batch(
    context: ServiceContext, until: datetime, test_clock: TestClock | None, room: int
) -> _Batch:
    batch = _Batch()
    posted: list[Transfer] = []
    started = time.monotonic()
    last_due: datetime | None = None
    with context.writing() as uow:
        uow.connection.info[SAVEPOINTS] = True
        head: deque[DueItem] = deque()
        head_keys: set[tuple[str, str]] = set()  # the head's tasks and subjects, each unique
        while batch.worked < room and time.monotonic() - started < BATCH_SECONDS:
            if not head:
                head.extend(uow.due_work.due(until, limit=room - batch.worked))
                head_keys = {(i.task, i.subject_id) for i in head}
                if not head:
                    batch.drained = True
                    break
            item = head.popleft()
            head_keys.discard((item.task, item.subject_id))
            if test_clock is not None:
                test_clock.move_to(item.due_at)
            try:
                with context.within(uow.connection) as step:
                    _work(context, step, item)
                    step.commit()
            except DueWorkFailed as failure:
                batch.failure = failure
                break
            posted.extend(step.posted)
            if head and not _still_the_head(step, head, head_keys):
                head.clear()  # read the queue again
            batch.worked += 1
            last_due = item.due_at
            if item.task in CALLOUTS:
                batch.callout = item
                break
        if test_clock is not None and last_due is not None:
            uow.clock_state.save(last_due)  # where a restart resumes: after the last item done
        uow.commit()
    if posted:
        context.on_posted(posted)
    return batch


def _still_the_head(step: UnitOfWork, head: deque[DueItem], keys: set[tuple[str, str]]) -> bool:
    """Whether the items read ahead (`keys`: their tasks and subjects) are still the next ones
    due, after `step`'s work."""
    queue = step.due_work
    if queue.earliest_scheduled is not None and queue.earliest_scheduled <= head[-1].due_at:
        return False
    return queue.cancelled.isdisjoint(keys)


def _work(context: ServiceContext, uow: UnitOfWork, item: DueItem) -> None:
    # Taken off the queue first: the handler may queue the same task for the same subject again
    # (a retry, the next cycle); a failure rolls both back.
    if not uow.due_work.done(item):
        return  # taken off since it was read: nothing to do
    if item.task in CALLOUTS:
        claim_due_call(uow, call_id=item.subject_id, now=context.clock.now())
        return
    handler = HANDLERS.get(item.task)
    if handler is None:
        log.error("no handler for due work %s (%s); dropping it", item.task, item.subject_id)
        return
    try:
        handler(context, uow, context.clock.now(), item.subject_id)
    except Exception as error:
        raise DueWorkFailed(item) from error


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
