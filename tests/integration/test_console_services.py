"""The support console's use cases (engine.console), on SQLite and PostgreSQL.

Staff and their passwords, the sign-in throttle, sessions on the wall clock, previews that
change nothing, actions that run once per form and are audited with the staff member's email.
The wall clock is a second TestClock, given to the engine as `wall_clock`, so a test moves
sessions and the throttle without moving the books (and the other way round).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from creditflow.clock import TestClock
from creditflow.domain.errors import Conflict, IdempotencyKeyReused, InvalidRequest, NotFound
from creditflow.engine import Engine
from creditflow.mail.transports import EmlFolderTransport
from creditflow.services.staff import TooManyAttempts
from creditflow.services.views import Money
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import make_account

PASSWORD = "correct horse battery"
WALL_START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
OFFICE = "203.0.113.7"
HOME = "198.51.100.20"


@pytest.fixture
def wall() -> TestClock:
    return TestClock(WALL_START)


@pytest.fixture
def engine(
    database_url: str, clock: TestClock, wall: TestClock, tmp_path: Path
) -> Iterator[Engine]:
    """The goodwill catalog (imgtostl), with the console on the `wall` clock."""
    with Engine(
        database_url=database_url,
        clock=clock,
        wall_clock=wall,
        catalog=REFERENCE_CATALOGS / "imgtostl.toml",
        data_dir=tmp_path / "data",
        mail_transport=EmlFolderTransport(tmp_path / "mail"),
    ) as engine:
        yield engine


def later(wall: TestClock, **delta: float) -> None:
    wall.move_to(wall.now() + timedelta(**delta))


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.db.connect() as connection:
        return list(connection.execute(text(sql), params))


def count(engine: Engine, table: str) -> int:
    return int(rows(engine, f"SELECT count(*) FROM {table}")[0][0])


def audit_actions(engine: Engine, actor: str) -> list[tuple[str, str]]:
    """(action, subject) of the staff member's audit rows, oldest first."""
    page = engine.console.audit_log(actor=actor)
    return [(row["action"], row["subject_id"]) for row in reversed(page.rows)]


# Staff


def test_staff_are_created_listed_and_disabled_and_a_disabled_member_is_locked_out(
    engine: Engine,
) -> None:
    console = engine.console
    agent, secret = console.create_staff("agent@example.com", role="support", password=PASSWORD)
    assert secret == PASSWORD
    boss, made_up = console.create_staff("boss@example.com", role="admin")
    assert len(made_up) >= 12 and made_up != PASSWORD
    assert [(m.email, m.role, m.status) for m in console.staff()] == [
        ("agent@example.com", "support", "active"),
        ("boss@example.com", "admin", "active"),
    ]
    assert boss.is_admin and not agent.is_admin
    assert console.sign_in(email=boss.email, password=made_up, address=OFFICE) is not None

    token = console.sign_in(email=agent.email, password=PASSWORD, address=OFFICE)
    assert token is not None and console.session(token) is not None
    disabled = console.disable_staff("agent@example.com", actor=boss.email)
    assert disabled.status == "disabled"
    assert [(m.email, m.status) for m in console.staff()] == [
        ("agent@example.com", "disabled"),
        ("boss@example.com", "active"),
    ]
    assert console.session(token) is None  # the open session stopped working at once
    assert console.sign_in(email=agent.email, password=PASSWORD, address=OFFICE) is None
    ended = rows(
        engine,
        "SELECT ended_at FROM web_sessions WHERE subject_id = :id",
        id=agent.id,
    )
    assert len(ended) == 1 and ended[0][0] is not None
    assert ("staff_disabled", agent.id) in audit_actions(engine, boss.email)
    with pytest.raises(NotFound):
        console.disable_staff("nobody@example.com")


def test_bad_staff_are_refused_and_nothing_is_made(engine: Engine) -> None:
    console = engine.console
    console.create_staff("agent@example.com", role="support", password=PASSWORD)
    for email, role, password in (
        ("not an email", "support", PASSWORD),
        ("new@example.com", "owner", PASSWORD),
        ("new@example.com", "support", "short"),
    ):
        with pytest.raises(InvalidRequest):
            console.create_staff(email, role=role, password=password)
    with pytest.raises(Conflict) as twice:
        console.create_staff("Agent@Example.com", role="admin", password=PASSWORD)
    assert twice.value.code == "staff_exists"
    assert [m.email for m in console.staff()] == ["agent@example.com"]


def test_passwords_are_kept_as_salted_argon2id_hashes(engine: Engine) -> None:
    console = engine.console
    console.create_staff("one@example.com", role="support", password=PASSWORD)
    console.create_staff("two@example.com", role="support", password=PASSWORD)
    hashes = [h for (h,) in rows(engine, "SELECT password_hash FROM staff ORDER BY email")]
    assert len(hashes) == 2
    for stored in hashes:
        assert stored.startswith("$argon2id$")
        assert PASSWORD not in stored
    assert hashes[0] != hashes[1]  # salted: the same password hashes differently
    everything = " ".join(
        str(value) for row in rows(engine, "SELECT * FROM staff") for value in row
    )
    assert PASSWORD not in everything


def test_a_wrong_password_or_an_unknown_email_signs_no_one_in(engine: Engine) -> None:
    console = engine.console
    console.create_staff("agent@example.com", role="support", password=PASSWORD)
    assert (
        console.sign_in(email="agent@example.com", password=PASSWORD + "!", address=OFFICE) is None
    )
    assert console.sign_in(email="agent@example.com", password="", address=OFFICE) is None
    assert console.sign_in(email="nobody@example.com", password=PASSWORD, address=OFFICE) is None
    assert count(engine, "web_sessions") == 0
    # The email is matched whatever its case, as people type it.
    token = console.sign_in(email=" Agent@Example.COM ", password=PASSWORD, address=OFFICE)
    assert token is not None
    resumed = console.session(token)
    assert resumed is not None and resumed[1].email == "agent@example.com"


# The sign-in throttle (wall clock)


def test_five_failures_for_an_email_refuse_even_the_right_password_for_fifteen_minutes(
    engine: Engine, wall: TestClock
) -> None:
    console = engine.console
    console.create_staff("agent@example.com", role="support", password=PASSWORD)
    console.create_staff("other@example.com", role="support", password=PASSWORD)
    for attempt in range(5):
        # From five places: it is the email that is counted here, not the address.
        address = f"192.0.2.{attempt + 1}"
        assert console.sign_in(email="agent@example.com", password="guess", address=address) is None
    for address in (OFFICE, HOME):
        with pytest.raises(TooManyAttempts):
            console.sign_in(email="agent@example.com", password=PASSWORD, address=address)
    with pytest.raises(TooManyAttempts):  # the email as typed in another case is the same one
        console.sign_in(email="AGENT@example.com", password=PASSWORD, address=HOME)
    # Someone else, from those same places, is not held up.
    assert console.sign_in(email="other@example.com", password=PASSWORD, address=HOME)

    later(wall, minutes=14, seconds=59)
    with pytest.raises(TooManyAttempts):
        console.sign_in(email="agent@example.com", password=PASSWORD, address=OFFICE)
    later(wall, seconds=2)  # fifteen minutes after the failures
    assert console.sign_in(email="agent@example.com", password=PASSWORD, address=OFFICE)


def test_four_failures_are_forgiven_by_a_success(engine: Engine) -> None:
    console = engine.console
    console.create_staff("agent@example.com", role="support", password=PASSWORD)
    for round_ in range(2):
        for attempt in range(4):
            address = f"192.0.2.{round_ * 10 + attempt + 1}"
            assert console.sign_in(email="agent@example.com", password="x", address=address) is None
        assert console.sign_in(email="agent@example.com", password=PASSWORD, address=HOME)


def test_five_failures_from_an_address_refuse_every_email_from_it_for_fifteen_minutes(
    engine: Engine, wall: TestClock
) -> None:
    console = engine.console
    console.create_staff("agent@example.com", role="support", password=PASSWORD)
    for n in range(5):  # five different accounts tried from one place
        assert console.sign_in(email=f"guess{n}@example.com", password="x", address=OFFICE) is None
    with pytest.raises(TooManyAttempts):
        console.sign_in(email="agent@example.com", password=PASSWORD, address=OFFICE)
    assert console.sign_in(email="agent@example.com", password=PASSWORD, address=HOME)
    later(wall, minutes=15, seconds=1)
    assert console.sign_in(email="agent@example.com", password=PASSWORD, address=OFFICE)


# Sessions (wall clock)


def test_a_session_lives_while_it_is_used_and_ends_after_twelve_idle_hours(
    engine: Engine, wall: TestClock, clock: TestClock
) -> None:
    console = engine.console
    agent, _ = console.create_staff("agent@example.com", role="support", password=PASSWORD)
    token = console.sign_in(email=agent.email, password=PASSWORD, address=OFFICE)
    assert token is not None
    resumed = console.session(token)
    assert resumed is not None
    session, member = resumed
    assert (session.kind, session.subject_id, member.email) == ("console", agent.id, agent.email)
    assert session.csrf and session.csrf != token

    # The books' clock a month on does not sign anyone out: sessions run on the wall clock.
    clock.move_to(clock.now() + timedelta(days=31))
    assert console.session(token) is not None
    # Used every eleven hours and fifty nine minutes, it lives on well past twelve hours.
    for _ in range(3):
        later(wall, hours=11, minutes=59)
        assert console.session(token) is not None, "a session in use must not idle out"
    # Twelve hours without use, and it is over for good.
    later(wall, hours=12, seconds=1)
    assert console.session(token) is None
    assert console.session(token) is None
    assert console.session("not-a-token") is None


def test_a_signed_out_session_is_gone_and_the_token_is_stored_only_as_its_hash(
    engine: Engine,
) -> None:
    console = engine.console
    console.create_staff("agent@example.com", role="support", password=PASSWORD)
    token = console.sign_in(email="agent@example.com", password=PASSWORD, address=OFFICE)
    other = console.sign_in(email="agent@example.com", password=PASSWORD, address=HOME)
    assert token is not None and other is not None and token != other
    assert len(token) >= 32
    stored = rows(engine, "SELECT * FROM web_sessions")
    assert len(stored) == 2
    everything = " ".join(str(value) for row in stored for value in row)
    assert token not in everything and other not in everything
    ids = {row[0] for row in rows(engine, "SELECT id FROM web_sessions")}
    assert ids == {hashlib.sha256(t.encode()).hexdigest() for t in (token, other)}

    console.sign_out(token)
    assert console.session(token) is None
    assert console.session(other) is not None  # only that browser is signed out
    console.sign_out(token)  # twice is harmless


# Previews


def snapshot(engine: Engine, account_id: str, order_id: str) -> dict[str, object]:
    """What a preview must leave as it was."""
    order = engine.order(order_id)
    return {
        "balance": engine.balance(account_id).available,
        "order": (order.status, [r.id for r in order.refunds]),
        "requests": [(r.id, r.status, r.refund_id) for r in engine.refund_requests().data],
        "subscriptions": [(s.id, s.status, s.plan) for s in engine.subscriptions(account_id)],
        **{
            table: count(engine, table)
            for table in (
                "entries",
                "grants",
                "payment_refunds",
                "provider_calls",
                "audit_events",
                "mail_outbox",
                "events",
                "credit_notes",
                "refund_requests",
            )
        },
    }


def test_a_decision_preview_says_what_approval_does_and_does_nothing(engine: Engine) -> None:
    agent, _ = engine.console.create_staff("agent@example.com", role="support", password=PASSWORD)
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_1000")
    engine.consume(account.id, credits=100)
    request = engine.submit_refund_request(order_id=order.id, reason="unused")
    before = snapshot(engine, account.id, order.id)

    effects = engine.console.preview_decision(
        request.id, outcome="approve_full", amount=None, credits=None, note="", actor=agent.email
    )
    assert effects.refund == Money(amount=4000, currency="USD")
    assert effects.provider == "test"
    assert effects.credits_revoked == 900  # what the order still holds
    assert (effects.credits_granted, effects.plans_ended) == (0, [])
    assert effects.order_status == "refunded"
    assert snapshot(engine, account.id, order.id) == before
    assert engine.refund_request(request.id).status == "in_review"

    # And the real decision does what the preview said.
    engine.decide_refund_request(
        request.id, outcome="approve_full", note="as previewed", decided_by=agent.email
    )
    done = engine.order(order.id)
    assert done.status == effects.order_status
    assert [r.amount for r in done.refunds] == [effects.refund]
    assert engine.balance(account.id).available == 900 - effects.credits_revoked
    assert audit_actions(engine, agent.email) == [("refund_decided", request.id)]


def test_previews_of_credits_and_of_a_plan_ending_change_nothing(engine: Engine) -> None:
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    order_id = subscription.order_id or ""
    request = engine.submit_refund_request(order_id=order_id, reason="change_of_mind")
    before = snapshot(engine, account.id, order_id)

    credits = engine.console.preview_decision(
        request.id, outcome="replacement_credits", amount=None, credits=50, note="", actor="a@b.co"
    )
    assert (credits.refund, credits.credits_granted, credits.credits_revoked) == (None, 50, 0)
    assert credits.plans_ended == [] and credits.order_status == "paid"
    ending = engine.console.preview_decision(
        request.id, outcome="approve_full", amount=None, credits=None, note="", actor="a@b.co"
    )
    assert ending.plans_ended == [subscription.id]
    assert ending.credits_revoked > 0 and ending.order_status == "refunded"
    assert snapshot(engine, account.id, order_id) == before
    assert engine.subscription(subscription.id).status == subscription.status


def test_an_order_refund_preview_matches_the_refund_and_changes_nothing(engine: Engine) -> None:
    agent, _ = engine.console.create_staff("agent@example.com", role="support", password=PASSWORD)
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_1000")
    before = snapshot(engine, account.id, order.id)

    partial = engine.console.preview_order_refund(order.id, amount=1000, reason="goodwill")
    assert partial.refund == Money(amount=1000, currency="USD")
    assert (partial.order_status, partial.credits_revoked) == ("partially_refunded", 0)
    whole = engine.console.preview_order_refund(order.id, amount=None, reason="goodwill")
    assert whole.refund == Money(amount=4000, currency="USD")
    assert (whole.order_status, whole.credits_revoked) == ("refunded", 1000)
    with pytest.raises(InvalidRequest):  # refused as the real thing would be
        engine.console.preview_order_refund(order.id, amount=4001, reason="goodwill")
    assert snapshot(engine, account.id, order.id) == before

    refund = engine.console.refund_order(
        order.id, amount=1000, reason="goodwill", actor=agent.email, form_id="form-1"
    )
    assert refund.amount == partial.refund
    assert engine.order(order.id).status == partial.order_status
    assert engine.balance(account.id).available == 1000 - partial.credits_revoked


# Actions: once per form, audited


def test_giving_credits_twice_with_one_form_gives_them_once(engine: Engine) -> None:
    console = engine.console
    agent, _ = console.create_staff("agent@example.com", role="support", password=PASSWORD)
    account = make_account(engine)
    first = console.give_credits(
        account.id, credits=25, kind="promo", reason="sorry", actor=agent.email, form_id="f-1"
    )
    again = console.give_credits(
        account.id, credits=25, kind="promo", reason="sorry", actor=agent.email, form_id="f-1"
    )
    assert again.id == first.id
    assert engine.balance(account.id).available == 25
    assert count(engine, "grants") == 1
    with pytest.raises(IdempotencyKeyReused):  # one form cannot give something else
        console.give_credits(
            account.id, credits=99, kind="promo", reason="sorry", actor=agent.email, form_id="f-1"
        )
    second = console.give_credits(
        account.id, credits=25, kind="promo", reason="sorry", actor=agent.email, form_id="f-2"
    )
    assert second.id != first.id and engine.balance(account.id).available == 50
    assert [a for a, _ in audit_actions(engine, agent.email)].count("credits_given") == 2
    for kind, credits, form_id in (("purchased", 5, "f-3"), ("promo", 5, "")):
        with pytest.raises(InvalidRequest):
            console.give_credits(
                account.id,
                credits=credits,
                kind=kind,
                reason="x",
                actor=agent.email,
                form_id=form_id,
            )
    assert engine.balance(account.id).available == 50


def test_each_action_is_audited_with_the_staff_members_email(engine: Engine) -> None:
    console = engine.console
    agent, _ = console.create_staff("agent@example.com", role="support", password=PASSWORD)
    other, _ = console.create_staff("other@example.com", role="support", password=PASSWORD)
    assert console.sign_in(email=agent.email, password=PASSWORD, address=OFFICE)
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    order = engine.checkout(account.id, product="pack_200")
    act = {"actor": agent.email}
    console.give_credits(
        account.id, credits=5, kind="replacement", reason="bug", form_id="1", **act
    )
    console.suspend_account(account.id, reason="abuse?", form_id="2", **act)
    assert engine.account(account.id).status == "suspended"
    console.reinstate_account(account.id, reason="cleared", form_id="3", **act)
    assert engine.account(account.id).status == "active"
    console.cancel_subscription(subscription.id, form_id="4", **act)
    console.resume_subscription(subscription.id, form_id="5", **act)
    console.refund_order(order.id, amount=None, reason="asked nicely", form_id="6", **act)
    console.suspend_account(account.id, reason="again", form_id="7", actor=other.email)

    assert audit_actions(engine, agent.email) == [
        ("signed_in", agent.id),
        ("credits_given", account.id),
        ("account_suspended", account.id),
        ("account_reinstated", account.id),
        ("subscription_cancelled", account.id),
        ("subscription_resumed", account.id),
        ("order_refunded", order.id),
    ]
    assert audit_actions(engine, other.email) == [("account_suspended", account.id)]
    rows_ = {row["action"]: row for row in console.audit_log(actor=agent.email).rows}
    assert rows_["credits_given"]["detail"] == {
        "credits": 5,
        "kind": "replacement",
        "reason": "bug",
    }
    assert rows_["order_refunded"]["detail"]["reason"] == "asked nicely"
    assert rows_["signed_in"]["detail"] == {"address": OFFICE}
    # Replaying a form does not write its audit row twice.
    console.suspend_account(account.id, reason="again", form_id="7", actor=other.email)
    assert audit_actions(engine, other.email) == [("account_suspended", account.id)]
