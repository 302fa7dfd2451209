"""Sending the webhook outbox: at least once, signed, retried, shared safely by servers.

One short transaction takes a batch of due deliveries (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
so two servers never take the same row) and leases them; they are sent with no transaction open,
one lane per endpoint in parallel, so a slow receiver holds up only its own deliveries; each
attempt is recorded in a transaction of its own. All times here are the wall clock's, even when
the engine runs on a test clock: a receiver lives in real time.

A failed attempt is retried on the Standard Webhooks schedule and the delivery given up after
the last one. An endpoint whose deliveries have failed for five days running is disabled and
the operator mailed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from creditflow.clock import Clock
from creditflow.domain.retries import retry_delay
from creditflow.services.context import ServiceContext
from creditflow.services.events import event_view
from creditflow.services.mail import enqueue_mail
from creditflow.services.webhook_endpoints import signing_secrets
from creditflow.store.endpoints import AttemptRecord, DeliveryRecord, EndpointRecord
from creditflow.store.uow import UnitOfWork
from creditflow.webhooks.sender import Sent, WebhookSender
from creditflow.webhooks.signing import signed_headers

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
"""A batch is hidden from other servers this long; one that dies with it leaves it due again."""
FAILING_FOR = timedelta(days=5)
LANES = 8
PER_ENDPOINT = 50
"""Deliveries one endpoint gets a round at most: the others' turn comes first."""
ERROR_KEPT = 500


@dataclass(frozen=True, slots=True)
class Outgoing:
    delivery: DeliveryRecord
    url: str
    headers: dict[str, str]
    body: str


def deliver_due(
    context: ServiceContext,
    *,
    sender: WebhookSender,
    wall_clock: Clock,
    operator: str | None,
    limit: int = 100,
) -> int:
    """Send what is due; return how many deliveries were attempted."""
    lanes = context.run_plain(lambda uow: _take(uow, wall_clock.now(), limit))
    if not lanes:
        return 0
    with ThreadPoolExecutor(max_workers=min(LANES, len(lanes))) as pool:
        done = pool.map(
            lambda lane: _send_lane(context, sender, wall_clock, operator, lane), lanes.values()
        )
        return sum(done)


def _take(uow: UnitOfWork, now: datetime, limit: int) -> dict[str, list[Outgoing]]:
    due = uow.endpoints.due(now, limit)
    uow.endpoints.lease([d.id for d in due], now + LEASE)
    endpoints = {e.id: e for e in uow.endpoints.listed()}
    events = uow.events.many({d.event_id for d in due})
    lanes: dict[str, list[Outgoing]] = defaultdict(list)
    next_round: list[str] = []
    for delivery in due:
        endpoint = endpoints.get(delivery.endpoint_id)
        if endpoint is None or endpoint.status != "enabled":
            continue  # deleted or disabled since: it waits (or was given up) untouched
        if len(lanes[endpoint.id]) >= PER_ENDPOINT:
            next_round.append(delivery.id)
            continue
        event = events[delivery.event_id]
        body = event_view(event).model_dump_json()
        headers = signed_headers(
            message_id=event.id,
            body=body,
            secrets_in_use=signing_secrets(endpoint, now),
            at=now,
        )
        lanes[endpoint.id].append(Outgoing(delivery, endpoint.url, headers, body))
    uow.endpoints.lease(next_round, now)  # due again at once, for the next round
    return lanes


def _send_lane(
    context: ServiceContext,
    sender: WebhookSender,
    wall_clock: Clock,
    operator: str | None,
    lane: list[Outgoing],
) -> int:
    """One endpoint's deliveries in order, their outcomes recorded together; if it does not
    answer at all, the rest wait for the next round."""
    outcomes: list[tuple[DeliveryRecord, Sent]] = []
    for outgoing in lane:
        sent = sender.send(outgoing.url, headers=outgoing.headers, body=outgoing.body)
        outcomes.append((outgoing.delivery, sent))
        if sent.unreachable:
            break
    untried = [o.delivery.id for o in lane[len(outcomes) :]]
    now = wall_clock.now()

    def record(uow: UnitOfWork) -> None:
        for delivery, sent in outcomes:
            _record(uow, delivery, sent, now)
        uow.endpoints.lease(untried, now)
        endpoint = uow.endpoints.get(lane[0].delivery.endpoint_id, for_update=True)
        if endpoint is None:
            return
        if any(sent.delivered for _, sent in outcomes):
            if endpoint.failing_since is not None:
                uow.endpoints.save(endpoint.evolve(failing_since=None))
        else:
            _count_failure(uow, endpoint, now, operator)

    context.run_plain(record)
    return len(outcomes)


def _record(uow: UnitOfWork, delivery: DeliveryRecord, sent: Sent, now: datetime) -> None:
    attempts = delivery.attempts + 1
    uow.endpoints.add_attempt(
        AttemptRecord(
            delivery_id=delivery.id,
            at=now,
            status_code=sent.status_code,
            error=sent.error[:ERROR_KEPT] if sent.error else None,
            response=sent.response,
            duration_ms=sent.duration_ms,
        )
    )
    if sent.delivered:
        uow.endpoints.settle(
            delivery.id,
            status="delivered",
            attempts=attempts,
            next_attempt_at=None,
            finished_at=now,
        )
        return
    delay = retry_delay("webhook", attempts=attempts)
    uow.endpoints.settle(
        delivery.id,
        status="pending" if delay is not None else "failed",
        attempts=attempts,
        next_attempt_at=now + delay if delay is not None else None,
        finished_at=None if delay is not None else now,
    )


def _count_failure(
    uow: UnitOfWork, endpoint: EndpointRecord, now: datetime, operator: str | None
) -> None:
    if endpoint.failing_since is None:
        uow.endpoints.save(endpoint.evolve(failing_since=now))
        return
    if endpoint.status != "enabled" or now - endpoint.failing_since < FAILING_FOR:
        return
    reason = f"every delivery failed since {endpoint.failing_since.isoformat()}"
    uow.endpoints.save(endpoint.evolve(status="disabled", disabled_reason=reason, updated_at=now))
    log.warning("webhook endpoint %s (%s) disabled: %s", endpoint.id, endpoint.url, reason)
    if operator:
        enqueue_mail(
            uow,
            now=now,
            to=operator,
            template="webhook_endpoint_disabled",
            account_id=None,
            context={"endpoint_id": endpoint.id, "url": endpoint.url, "reason": reason},
        )
