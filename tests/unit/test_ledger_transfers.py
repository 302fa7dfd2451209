"""Double-entry transfers: every movement has two sides and sums to zero."""

from __future__ import annotations

import pytest

from creditflow.domain import ledger
from creditflow.domain.drawdown import Allocation
from creditflow.domain.kinds import EntryType, GrantKind


def test_a_transfer_needs_a_positive_amount_and_two_different_accounts() -> None:
    with pytest.raises(ValueError):
        ledger.Transfer(EntryType.GRANT, "g", GrantKind.PROMO, "a", "b", 0)
    with pytest.raises(ValueError):
        ledger.Transfer(EntryType.GRANT, "g", GrantKind.PROMO, "a", "a", 5)


def test_a_hold_moves_credits_from_available_to_held_on_the_same_grant() -> None:
    [transfer] = ledger.hold([Allocation("grt_1", GrantKind.DAILY, 7)])
    assert (transfer.remaining_delta, transfer.held_delta) == (-7, 7)
    assert (transfer.debit, transfer.credit) == ("grant:grt_1", "held:grt_1")


def test_rule_5_releasing_onto_an_expired_grant_returns_then_expires_the_credits() -> None:
    transfers = ledger.release("acc_1", [Allocation("grt_1", GrantKind.DAILY, 7)], {"grt_1"})
    assert [t.type for t in transfers] == [EntryType.RELEASE, EntryType.EXPIRE]
    assert sum(t.remaining_delta for t in transfers) == 0
    assert sum(t.held_delta for t in transfers) == -7
    assert transfers[1].credit == "expired:acc_1"


def test_every_kind_of_movement_sums_to_zero_over_all_ledger_accounts() -> None:
    allocation = [Allocation("grt_1", GrantKind.PROMO, 3)]
    transfers = [
        ledger.issue("acc_1", "grt_1", GrantKind.PROMO, 10),
        *ledger.consume("acc_1", allocation),
        *ledger.hold(allocation),
        *ledger.capture("acc_1", allocation),
        ledger.expire("acc_1", "grt_1", GrantKind.PROMO, 2),
        ledger.revoke("acc_1", "grt_1", GrantKind.PROMO, 2),
    ]
    accounts = {t.debit for t in transfers} | {t.credit for t in transfers}
    balances = {a: sum(t.delta(a) for t in transfers) for a in accounts}
    assert sum(balances.values()) == 0
    assert balances["grant:grt_1"] == 10 - 3 - 3 - 2 - 2
    assert balances["spent:acc_1"] == 6
