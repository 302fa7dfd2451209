"""Rows written and read straight through the driver (`Driver.insert`, `Driver.select`) are the
rows SQLAlchemy would have written and read: due work uses them for renewals' orders, payments,
invoices and mail, and the console and API read those rows back through SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from creditflow.engine import Engine
from creditflow.store.tables import payments
from tests.factories import funded_account

AT = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _payment(order_id: str, payment_id: str, **changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": payment_id,
        "order_id": order_id,
        "provider": "test",
        "provider_payment_id": f"pi_{payment_id}",
        "amount": 900,
        "status": "succeeded",
        "duplicate": True,
        "created_at": AT,
        "fingerprint": None,
    }
    return {**values, **changes}


def _an_order(engine: Engine) -> str:
    account = funded_account(engine, credits=1)
    return engine.checkout(account.id, product=engine.catalog.packs[0].code).id


def test_a_row_written_by_the_driver_reads_back_through_sqlalchemy_unchanged(
    engine: Engine,
) -> None:
    order_id = _an_order(engine)
    with engine.context.writing() as uow:
        assert uow.driver.insert(payments, _payment(order_id, "pay_driver"))
        uow.commit()
    with engine.context.reading() as uow:
        row = uow.connection.execute(select(payments).where(payments.c.id == "pay_driver")).one()
    assert row.created_at == AT  # the same instant, aware, to the microsecond
    assert row.duplicate is True
    assert row.fingerprint is None


def test_a_row_written_by_sqlalchemy_reads_back_through_the_driver_unchanged(
    engine: Engine,
) -> None:
    order_id = _an_order(engine)
    with engine.context.writing() as uow:
        uow.connection.execute(insert(payments).values(_payment(order_id, "pay_core")))
        uow.connection.execute(
            insert(payments).values(
                _payment(
                    order_id,
                    "pay_core_2",
                    duplicate=False,
                    created_at=AT + timedelta(seconds=1),
                )
            )
        )
        uow.commit()
    with engine.context.reading() as uow:
        rows = uow.driver.select(
            payments, where={"order_id": order_id, "provider": "test"}, order_by=("created_at",)
        )
    mine = [row for row in rows if row["id"].startswith("pay_core")]
    assert [row["id"] for row in mine] == ["pay_core", "pay_core_2"]
    assert mine[0]["created_at"] == AT and mine[0]["created_at"].tzinfo is not None
    assert [row["duplicate"] for row in mine] == [True, False]  # booleans, not 1 and 0


def test_an_insert_unless_a_key_exists_leaves_the_first_row_and_says_so(engine: Engine) -> None:
    order_id = _an_order(engine)
    key = ("provider", "provider_payment_id")
    with engine.context.writing() as uow:
        first = uow.driver.insert(payments, _payment(order_id, "pay_a"), unless=key)
        again = uow.driver.insert(
            payments,
            _payment(order_id, "pay_b", provider_payment_id="pi_pay_a", amount=1),
            unless=key,
        )
        uow.commit()
    assert (first, again) == (True, False)
    with engine.context.reading() as uow:
        rows = uow.driver.select(payments, where={"provider_payment_id": "pi_pay_a"})
    assert [(row["id"], row["amount"]) for row in rows] == [("pay_a", 900)]


def test_a_time_without_a_zone_is_refused_before_anything_is_written(engine: Engine) -> None:
    order_id = _an_order(engine)
    with engine.context.writing() as uow:
        with pytest.raises(ValueError, match="aware datetime"):
            uow.driver.insert(
                payments, _payment(order_id, "pay_naive", created_at=AT.replace(tzinfo=None))
            )
        assert uow.driver.select(payments, where={"id": "pay_naive"}) == []
