"""`creditflow accounts show`: what a person reads about one account."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from creditflow.cli import app
from creditflow.clock import TestClock
from creditflow.engine import Engine
from tests.conftest import REFERENCE_CATALOGS
from tests.factories import make_account

MEMBERSHIP = REFERENCE_CATALOGS / "membership.toml"


def test_accounts_show_prints_balance_grants_subscription_and_entitlements(
    tmp_path: Path, clock: TestClock
) -> None:
    url = f"sqlite:///{tmp_path / 'shown.db'}"
    with Engine(database_url=url, clock=clock, catalog=MEMBERSHIP) as engine:
        account = make_account(engine)
        subscription = engine.subscribe(account.id, plan="tier2", interval="month")
        engine.cancel_subscription(subscription.id)
        engine.checkout(account.id, product="pack_10000")
        engine.consume(account.id, credits=2000)
        engine.advance_clock(seconds=3600)  # saves the test clock, which the command then uses
        grant_ids = [g.id for g in engine.balance(account.id).grants]
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["accounts", "show", account.external_id, "--db", url, "--catalog", str(MEMBERSHIP)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert account.id in out and "active" in out
    assert "20000 credits" in out  # 12000 - 2000 plan credits + 10000 pack credits
    for kind, credits in (("subscription", "10000"), ("purchased", "10000")):
        assert any(kind in line and credits in line for line in out.splitlines()), kind
    for grant_id in grant_ids:
        assert grant_id in out
    assert subscription.id in out and "cancels at period end" in out
    assert "Entitlements (tier2)" in out
    assert any("max_loras_per_generation" in line and " 7 " in line for line in out.splitlines())


def test_accounts_show_names_an_unknown_account_and_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Engine(database_url=url).close()  # a database with no accounts in it
    result = CliRunner().invoke(app, ["accounts", "show", "nobody", "--db", url])
    assert result.exit_code == 1
    assert "nobody" in result.output
