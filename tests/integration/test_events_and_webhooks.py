"""Events written with their change, delivered as signed webhooks to a real receiver, retried,
shared by two servers, and low-balance alerts once per crossing (issue 10)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks import Webhook

import creditflow.webhooks.addresses as addresses
from creditflow.clock import SystemClock, TestClock
from creditflow.domain.errors import InsufficientCredits
from creditflow.engine import Engine
from creditflow.webhooks import verify
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import funded_account, make_account
from tests.receiver import Receiver

PRIVATE_OK = {"CREDITFLOW_WEBHOOKS_ALLOW_PRIVATE": "1"}
MakeEngine = Callable[..., Engine]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    site = Receiver().start()
    yield site
    site.stop()


@pytest.fixture
def make_engine(database_url: str, clock: TestClock, tmp_path: Path) -> Iterator[MakeEngine]:
    made: list[Engine] = []

    def make(**options: object) -> Engine:
        engine = Engine(
            database_url=database_url,
            clock=clock,
            catalog=options.pop("catalog", REFERENCE_CATALOGS / "membership.toml"),  # type: ignore[arg-type]
            data_dir=tmp_path / "data",
            environ=options.pop("environ", PRIVATE_OK),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def test_each_change_writes_its_event_with_the_object_as_the_api_answered_it(
    make_engine: MakeEngine,
) -> None:
    engine = make_engine()
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="tier1", interval="month")
    engine.consume(account.id, credits=100)
    with pytest.raises(InsufficientCredits):  # refused: no event
        engine.consume(account.id, credits=10**9)
    engine.cancel_subscription(subscription.id)
    engine.advance_clock(seconds=31 * 86400)

    page = engine.events(account_id=account.id, limit=500)
    types = [e.type for e in reversed(page.data)]
    assert types[:1] == ["account.created"]
    assert {
        "subscription.created",
        "credits.granted",
        "invoice.created",
        "order.paid",
        "subscription.updated",  # activated, then cancelled
        "entitlements.changed",
        "credits.expiring",
        "credits.expired",
        "subscription.ended",
    } <= set(types)
    assert types.count("subscription.updated") == 2
    created = engine.event(page.data[-1].id)
    assert created.data["object"] == account.model_dump(mode="json")
    [paid] = engine.events(type="order.paid", account_id=account.id).data
    order = engine.order(paid.data["object"]["id"])
    assert paid.data["object"] == order.model_dump(mode="json")
    [ended] = engine.events(type="subscription.ended", account_id=account.id).data
    assert ended.data["object"]["status"] == "ended"
    [entitled, *_] = engine.events(type="entitlements.changed", account_id=account.id).data
    assert entitled.data["object"]["plan"] is None  # the last change: the plan ended


def test_deliveries_are_signed_per_standard_webhooks_and_verify_with_its_library(
    make_engine: MakeEngine, receiver: Receiver
) -> None:
    engine = make_engine()
    endpoint = engine.create_webhook_endpoint(url=receiver.url, events=["account.created"])
    assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
    account = make_account(engine)
    make_account(engine)
    assert engine.deliver_webhooks() == 2
    first = receiver.received[0]
    event = Webhook(endpoint.secret).verify(first.body, first.headers)
    assert event["type"] == "account.created"
    assert event["data"]["object"]["id"] == account.id
    assert first.headers["webhook-id"] == event["id"]
    assert verify(first.body, first.headers, endpoint.secret) == event  # our own helper
    assert engine.deliver_webhooks() == 0  # delivered: nothing is due
    [delivery, _] = engine.webhook_deliveries(endpoint.id).data
    assert delivery.status == "delivered" and delivery.attempts[0].status_code == 200
    assert engine.webhook_endpoint(endpoint.id).secret is None  # shown once


def test_a_receiver_that_fails_first_gets_every_event_once_it_acknowledges(
    make_engine: MakeEngine, receiver: Receiver
) -> None:
    wall = TestClock(datetime.now(UTC))
    engine = make_engine(wall_clock=wall)
    endpoint = engine.create_webhook_endpoint(url=receiver.url, events=["*"])
    assert endpoint.secret is not None
    receiver.failures = 2
    funded_account(engine, 500)  # account.created, credits.granted
    expected = {e.id for e in engine.events().data}
    assert len(expected) == 2

    engine.deliver_webhooks()  # both fail
    assert engine.deliver_webhooks() == 0  # the next try is 5 s away
    wall.move_to(wall.now() + timedelta(seconds=6))
    engine.deliver_webhooks()
    assert Counter(receiver.event_ids()) == {event_id: 2 for event_id in expected}
    acknowledged = [r for r in receiver.received[2:]]
    delivered = {d.event_id: d for d in engine.webhook_deliveries(endpoint.id).data}
    assert all(d.status == "delivered" for d in delivered.values())
    assert [a.status_code for a in delivered[acknowledged[0].headers["webhook-id"]].attempts] in (
        [500, 200],
        [500, 500],  # the second failure fell to it; it is acknowledged next
    )
    wall.move_to(wall.now() + timedelta(seconds=600))
    engine.deliver_webhooks()
    assert set(receiver.event_ids()) == expected
    after = Counter(receiver.event_ids())
    wall.move_to(wall.now() + timedelta(seconds=86400))
    engine.deliver_webhooks()
    assert Counter(receiver.event_ids()) == after  # nothing more once acknowledged
    bodies = {r.headers["webhook-id"]: set() for r in receiver.received}
    for received in receiver.received:
        bodies[received.headers["webhook-id"]].add(received.body)
        stamp = datetime.fromtimestamp(int(received.headers["webhook-timestamp"]), UTC)
        expected_signature = Webhook(endpoint.secret).sign(
            received.headers["webhook-id"], stamp, received.body.decode()
        )
        assert received.headers["webhook-signature"] == expected_signature
    assert all(len(variants) == 1 for variants in bodies.values())  # the same body each time


def test_a_failing_endpoint_is_retried_on_the_schedule_then_given_up_and_after_five_days_disabled(
    make_engine: MakeEngine, receiver: Receiver
) -> None:
    wall = TestClock(datetime.now(UTC))
    operator = {"CREDITFLOW_OPERATOR_EMAIL": "ops@site.example"}
    engine = make_engine(wall_clock=wall, environ={**PRIVATE_OK, **operator})
    endpoint = engine.create_webhook_endpoint(url=receiver.url, events=["account.created"])
    receiver.failures = 10**6
    make_account(engine)
    for wait in (0, 5, 300, 1800, 7200, 18000, 36000, 36000):
        wall.move_to(wall.now() + timedelta(seconds=wait))
        assert engine.deliver_webhooks() == 1
    [delivery] = engine.webhook_deliveries(endpoint.id).data
    assert (delivery.status, len(delivery.attempts)) == ("failed", 8)  # given up
    assert engine.webhook_endpoint(endpoint.id).status == "enabled"  # 28 hours: not yet
    wall.move_to(wall.now() + timedelta(seconds=4 * 86400))
    make_account(engine)
    engine.deliver_webhooks()
    disabled = engine.webhook_endpoint(endpoint.id)
    assert disabled.status == "disabled" and "failed since" in (disabled.disabled_reason or "")
    operator_mail = [m for m in engine.outbox() if m.template == "webhook_endpoint_disabled"]
    assert [m.to_address for m in operator_mail] == ["ops@site.example"]
    make_account(engine)
    assert engine.deliver_webhooks() == 0  # disabled: nothing goes out


def test_a_rotated_secret_signs_beside_the_new_one_for_24_hours(
    make_engine: MakeEngine, receiver: Receiver
) -> None:
    engine = make_engine(wall_clock=SystemClock())
    endpoint = engine.create_webhook_endpoint(url=receiver.url, events=["account.created"])
    rotated = engine.rotate_webhook_secret(endpoint.id)
    assert rotated.secret and endpoint.secret and rotated.secret != endpoint.secret
    make_account(engine)
    engine.deliver_webhooks()
    [received] = receiver.received
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    for secret in (endpoint.secret, rotated.secret):  # a receiver on either verifies
        Webhook(secret).verify(received.body, received.headers)


def test_no_delivery_after_an_endpoint_is_deleted(
    make_engine: MakeEngine, receiver: Receiver
) -> None:
    engine = make_engine()
    endpoint = engine.create_webhook_endpoint(url=receiver.url, events=["*"])
    make_account(engine)
    engine.delete_webhook_endpoint(endpoint.id)
    make_account(engine)
    assert engine.deliver_webhooks() == 0
    assert receiver.received == []


def test_a_slow_redirecting_or_endless_receiver_never_holds_up_another(
    make_engine: MakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("creditflow.webhooks.sender.TIMEOUT", 1.0)
    engine = make_engine()
    bad = [Receiver(behaviour=b).start() for b in ("hang", "redirect", "huge")]
    good = Receiver().start()
    try:
        for site in (*bad, good):
            engine.create_webhook_endpoint(url=site.url, events=["account.created"])
        make_account(engine)
        started = datetime.now(UTC)
        assert engine.deliver_webhooks() == 4
        assert datetime.now(UTC) - started < timedelta(seconds=8)
        assert len(good.received) == 1
        outcomes = {
            e.url: engine.webhook_deliveries(e.id).data[0] for e in engine.webhook_endpoints()
        }
        assert outcomes[good.url].status == "delivered"
        hang, redirect, huge = (outcomes[site.url].attempts[0] for site in bad)
        assert hang.status_code is None and "no answer within" in (hang.error or "")
        assert redirect.status_code == 301 and "not followed" in (redirect.error or "")
        assert huge.status_code == 200 and len(huge.response or "") <= 2048
        assert [r.path for r in bad[1].received] == ["/hooks"]  # the Location was not followed
    finally:
        for site in (*bad, good):
            site.stop()


def test_an_address_that_turns_private_is_refused_when_the_delivery_is_sent(
    make_engine: MakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(environ={})
    public = [(2, 1, 6, "", ("93.184.216.34", 443))]
    monkeypatch.setattr(addresses.socket, "getaddrinfo", lambda *a, **k: public)
    endpoint = engine.create_webhook_endpoint(url="https://hooks.site.example/in", events=["*"])
    rebound = [(2, 1, 6, "", ("127.0.0.1", 443))]
    monkeypatch.setattr(addresses.socket, "getaddrinfo", lambda *a, **k: rebound)
    make_account(engine)
    engine.deliver_webhooks()
    [attempt] = engine.webhook_deliveries(endpoint.id).data[0].attempts
    assert attempt.status_code is None and "private" in (attempt.error or "")


def test_low_balance_alerts_once_per_crossing_under_eight_threads(
    make_engine: MakeEngine, tmp_path: Path
) -> None:
    catalog = tmp_path / "alerting.toml"
    reference = (REFERENCE_CATALOGS / "photo-credits.toml").read_text()
    catalog.write_text(reference + "\n[alerts]\nlow_balance = 500\n")
    engine = make_engine(catalog=catalog)
    account = funded_account(engine, 1000)

    def spend() -> None:
        for _ in range(10):
            try:
                engine.consume(account.id, credits=10)
            except InsufficientCredits:
                return

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert engine.balance(account.id).available == 200
    lows = engine.events(type="credits.low", account_id=account.id).data
    assert len(lows) == 1
    assert lows[0].data["object"]["available"] < 500
    engine.grant(account.id, credits=250, kind="purchased", reason="top-up")  # 450: still below
    engine.consume(account.id, credits=10)
    assert len(engine.events(type="credits.low", account_id=account.id).data) == 1
    engine.grant(account.id, credits=100, kind="purchased", reason="top-up")  # 540: re-armed
    engine.consume(account.id, credits=100)  # 440: a second crossing
    assert len(engine.events(type="credits.low", account_id=account.id).data) == 2
    own = engine.set_alerts(account.id, low_balance=0)  # this account wants none
    assert (own.low_balance, own.source) == (0, "account")
    engine.grant(account.id, credits=1000, kind="purchased", reason="top-up")
    engine.consume(account.id, credits=1400)
    assert len(engine.events(type="credits.low", account_id=account.id).data) == 2


@pytest.mark.postgres
def test_two_servers_on_postgresql_deliver_every_event(
    make_engine: MakeEngine, receiver: Receiver, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED sharing is a PostgreSQL matter")
    first, second = make_engine(), make_engine()
    first.create_webhook_endpoint(url=receiver.url, events=["account.created"])
    for _ in range(40):
        make_account(first)
    expected = {e.id for e in first.events(type="account.created", limit=500).data}

    def drain(engine: Engine) -> None:
        while engine.deliver_webhooks(limit=5):
            pass

    threads = [threading.Thread(target=drain, args=(e,)) for e in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(receiver.event_ids())
    assert set(counts) == expected and all(n >= 1 for n in counts.values())
    bodies: dict[str, set[bytes]] = {}
    for received in receiver.received:
        bodies.setdefault(received.headers["webhook-id"], set()).add(received.body)
    assert all(len(b) == 1 for b in bodies.values())
    assert all(json.loads(next(iter(b)))["type"] == "account.created" for b in bodies.values())


def test_endpoints_are_read_once_per_transaction_and_afresh_after_one_changes(
    make_engine: MakeEngine, receiver: Receiver
) -> None:
    from creditflow.services.webhook_endpoints import create_endpoint

    engine = make_engine()
    with engine.context.writing() as uow:
        assert uow.endpoints.enabled() == []
        create_endpoint(
            uow,
            url=receiver.url,
            events=["*"],
            description="made in this transaction",
            allow_private=True,
            now=engine.clock.now(),
        )
        # The transaction's own change is seen at once, not the reading from before it.
        assert [e.description for e in uow.endpoints.enabled()] == ["made in this transaction"]
        uow.commit()
    later = engine.create_webhook_endpoint(url=receiver.url, events=["*"], description="later")
    with engine.context.writing() as uow:
        first = uow.endpoints.enabled()
        assert [e.description for e in first] == ["made in this transaction", "later"]
    engine.update_webhook_endpoint(later.id, status="disabled")
    with engine.context.writing() as uow:
        assert [e.description for e in uow.endpoints.enabled()] == ["made in this transaction"]
