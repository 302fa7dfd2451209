"""Refund requests and support's decisions, on SQLite and PostgreSQL (refund-policies.md).

Each test states what moves: the order's status, the ledger, the subscription, the mail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from creditflow.domain.errors import Conflict, InvalidRequest, NotFound
from creditflow.engine import Engine
from creditflow.services.views import Money
from tests.factories import ledger_sum, make_account
from tests.images import png


def usd(amount: int) -> Money:
    return Money(amount=amount, currency="USD")


EngineWith = Callable[[str], Engine]


def test_goodwill_minimal_use_is_recommended_in_full_and_approval_refunds_and_revokes(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")  # goodwill, 10 % minimal use
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_1000")
    engine.consume(account.id, credits=100)  # exactly 10 %
    request = engine.submit_refund_request(order_id=order.id, reason="unused")
    assert request.status == "in_review" and request.id.startswith("rfd_")
    assert request.recommendation.outcome == "approve_full"
    assert request.due_by == datetime(2026, 1, 22, 9, tzinfo=UTC)  # 5 business days
    assert any(r.rule == "minimal_use" and r.passed for r in request.recommendation.rules)
    decided = engine.decide_refund_request(
        request.id, outcome="approve_full", note="as the policy says", decided_by="agent-7"
    )
    assert decided.status == "approved" and decided.decision is not None
    assert (decided.decision.decided_by, decided.decision.amount) == ("agent-7", usd(4000))
    assert engine.order(order.id).status == "refunded"
    assert engine.balance(account.id).available == 0
    assert [e.type for e in engine.ledger(account.id).data][:1] == ["revoke"]
    assert ledger_sum(engine, account.id) == (0, 0)
    templates = [m.template for m in engine.outbox(account.id)]
    assert templates.count("refund_request_received") == 1
    assert templates.count("refund_decided") == 1


def test_a_partial_approval_refunds_the_amount_and_keeps_nothing_of_the_order(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_1000")
    engine.consume(account.id, credits=300)  # 30 %: between minimal and substantial
    request = engine.submit_refund_request(order_id=order.id, reason="unusable_result")
    assert request.recommendation.outcome == "approve_partial"
    assert request.recommendation.amount == usd(2800)  # 70 % of 40.00
    decided = engine.decide_refund_request(
        request.id, outcome="approve_partial", amount=2800, note="70 % unspent"
    )
    assert decided.status == "partially_approved"
    assert engine.order(order.id).status == "partially_refunded"
    assert engine.balance(account.id).available == 0  # an approval revokes what is left


def test_approving_a_subscription_order_ends_the_plan_and_revokes_the_periods_credits(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    subscription = engine.subscribe(account.id, plan="maker", interval="month")
    engine.checkout(account.id, product="pack_200")  # not part of the refunded order
    request = engine.submit_refund_request(
        order_id=subscription.order_id or "", reason="change_of_mind"
    )
    engine.decide_refund_request(request.id, outcome="approve_full", note="goodwill")
    ended = engine.subscription(subscription.id)
    assert (ended.status, ended.ended_at) == ("ended", engine.clock.now())
    assert engine.balance(account.id).by_kind == {"purchased": 200}


def test_replacement_credits_and_a_free_retry_are_replacement_grants(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_200")
    job = engine.create_job(account.id, operation="image_to_stl", image=png())
    engine.claim_job()
    from creditflow.services.jobs import JobOutput

    engine.complete_job(job.id, outputs=[JobOutput(b"solid", "model/stl", "m.stl")])
    first = engine.submit_refund_request(
        order_id=order.id, reason="unusable_result", job_ids=[job.id]
    )
    retried = engine.decide_refund_request(first.id, outcome="free_retry", note="try again")
    assert retried.status == "resolved_with_credits"
    assert retried.decision is not None and retried.decision.credits == 20  # the job's cost
    assert engine.balance(account.id).by_kind["replacement"] == 20
    second = engine.submit_refund_request(order_id=order.id, reason="other")
    engine.decide_refund_request(second.id, outcome="replacement_credits", credits=50, note="sorry")
    assert engine.balance(account.id).by_kind["replacement"] == 70
    assert engine.order(order.id).status == "paid"
    with pytest.raises(InvalidRequest):
        third = engine.submit_refund_request(order_id=order.id, reason="other")
        engine.decide_refund_request(third.id, outcome="replacement_credits", note="no number")


def test_a_denial_changes_nothing_but_the_request_and_mails_the_customer(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")  # strict: non-refundable
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100")
    request = engine.submit_refund_request(order_id=order.id, reason="change_of_mind")
    assert request.recommendation.outcome == "deny"
    assert any(r.rule == "non_refundable" for r in request.recommendation.rules)
    denied = engine.decide_refund_request(request.id, outcome="deny", note="policy 001")
    assert denied.status == "denied"
    assert engine.order(order.id).status == "paid"
    assert engine.balance(account.id).available == 100
    with pytest.raises(Conflict) as twice:
        engine.decide_refund_request(request.id, outcome="approve_full", note="changed my mind")
    assert twice.value.code == "refund_request_decided"


def test_a_duplicate_charge_refund_gives_back_the_extra_payment_and_keeps_the_credits(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100")
    engine.record_payment(order.id, provider="test", provider_payment_id="again", amount=499)
    request = engine.submit_refund_request(order_id=order.id, reason="duplicate_charge")
    assert (request.recommendation.outcome, request.recommendation.amount) == (
        "approve_full",
        usd(499),
    )
    engine.decide_refund_request(request.id, outcome="approve_full", note="rule 22")
    assert engine.order(order.id).status == "paid"
    assert engine.balance(account.id).available == 100


def test_revoking_an_order_with_credits_held_by_a_running_job_leaves_the_hold_whole(
    engine_with: EngineWith,
) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_200")
    job = engine.create_job(account.id, operation="image_to_stl", image=png())  # holds 20
    engine.claim_job()
    request = engine.submit_refund_request(order_id=order.id, reason="change_of_mind")
    engine.decide_refund_request(request.id, outcome="approve_full", note="goodwill")
    balance = engine.balance(account.id)
    assert (balance.available, balance.held) == (0, 20)  # the hold keeps its credits
    engine.fail_job(job.id, error="GPU lost")  # they come back to the grant, which is revoked?
    after = engine.balance(account.id)
    assert after.held == 0 and after.available >= 0
    assert ledger_sum(engine, account.id) == (after.available, 0)
    assert engine.check() == []


def test_bad_requests_are_refused_and_change_nothing(engine_with: EngineWith) -> None:
    engine = engine_with("imgtostl")
    account = make_account(engine)
    with pytest.raises(NotFound):
        engine.submit_refund_request(order_id="ord_missing", reason="unused")
    engine.set_test_payment_behavior(account.id, "decline")
    unpaid = engine.checkout(account.id, product="pack_200")
    with pytest.raises(Conflict) as not_paid:
        engine.submit_refund_request(order_id=unpaid.id, reason="unused")
    assert not_paid.value.code == "order_not_paid"
    engine.set_test_payment_behavior(account.id, "succeed")
    order = engine.checkout(account.id, product="pack_200")
    for bad in (
        {"reason": "because"},
        {"reason": "fraud", "evidence": [{"kind": "selfie", "ref": "x"}]},
        {"reason": "other", "job_ids": ["job_missing"]},
    ):
        with pytest.raises(InvalidRequest):
            engine.submit_refund_request(order_id=order.id, **bad)  # type: ignore[arg-type]
    first = engine.submit_refund_request(order_id=order.id, reason="unused")
    with pytest.raises(Conflict) as open_one:
        engine.submit_refund_request(order_id=order.id, reason="other")
    assert open_one.value.code == "refund_request_open"
    for decision in (
        {"outcome": "maybe", "note": "x"},
        {"outcome": "approve_partial", "note": "no amount"},
        {"outcome": "approve_partial", "amount": 1001, "note": "too much"},
        {"outcome": "approve_full", "note": "  "},
    ):
        with pytest.raises(InvalidRequest):
            engine.decide_refund_request(first.id, **decision)  # type: ignore[arg-type]
    assert engine.refund_request(first.id).status == "in_review"
    assert engine.order(order.id).status == "paid"
    assert engine.refund_requests(status="in_review").data[0].id == first.id


def test_an_undecided_request_is_flagged_overdue_by_the_clock(engine_with: EngineWith) -> None:
    engine = engine_with("tagger")
    account = make_account(engine)
    order = engine.checkout(account.id, product="pack_500")
    request = engine.submit_refund_request(order_id=order.id, reason="other")
    engine.advance_clock(to=request.due_by - timedelta(seconds=1))
    assert not engine.refund_request(request.id).overdue
    engine.advance_clock(seconds=1)
    assert engine.refund_request(request.id).overdue
    assert [r.id for r in engine.refund_queue()] == [request.id]


def test_refund_history_counts_accounts_linked_by_email(engine_with: EngineWith) -> None:
    engine = engine_with("imgtostl")  # goodwill: one approved refund a year
    first = engine.create_account(external_id="a", email="Same@Example.com")
    second = engine.create_account(external_id="b", email="same@example.com")
    order = engine.checkout(first.id, product="pack_200")
    request = engine.submit_refund_request(order_id=order.id, reason="unused")
    engine.decide_refund_request(request.id, outcome="approve_full", note="first one")
    other = engine.checkout(second.id, product="pack_200")
    again = engine.submit_refund_request(order_id=other.id, reason="unused")
    assert again.recommendation.outcome == "deny"
    assert any(r.rule == "refund_history" and not r.passed for r in again.recommendation.rules)


def test_an_outage_of_a_day_makes_a_strict_refund_approvable(engine_with: EngineWith) -> None:
    engine = engine_with("photo-credits")
    account = make_account(engine)
    order = engine.checkout(account.id, product="credits_100")
    engine.advance_clock(seconds=2 * 86400)
    start = engine.clock.now() - timedelta(days=1, hours=1)
    incident = engine.record_incident(started_at=start, summary="GPU cluster down")
    engine.resolve_incident(incident.id, ended_at=start + timedelta(hours=24))
    request = engine.submit_refund_request(order_id=order.id, reason="service_outage")
    assert request.recommendation.outcome == "approve_full"
    with pytest.raises(Conflict):
        engine.resolve_incident(incident.id, ended_at=start + timedelta(hours=30))
    with pytest.raises(InvalidRequest):
        engine.record_incident(started_at=start, ended_at=start - timedelta(hours=1), summary="x")
