"""`creditflow.Client` is the HTTP twin of `Engine`: one scenario through both gives the same
answers, errors come back as the same typed errors, and retries never spend twice (issue 10)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from creditflow import AsyncClient, Client, Engine
from creditflow.clock import TestClock
from creditflow.domain.errors import Conflict, InsufficientCredits, InvalidImage, NotFound
from tests.conftest import REFERENCE_CATALOGS, START
from tests.e2e.server import ADMIN, Server
from tests.images import png

CATALOG = REFERENCE_CATALOGS / "membership.toml"
StartServer = Callable[..., Server]
ID = re.compile(r"(?<![a-z])([a-z]{3})_[0-9a-f]{24}(?![0-9a-f])")


def scenario(api: Any) -> list[Any]:
    """A site's day: sign-up, credits, a spend, a hold, a pack, a plan, an upgrade, a job,
    a refund request, and the events of it all."""
    answers: list[Any] = []
    account = api.create_account(external_id="ada", email="ada@example.com", country="DE")
    answers.append(account)
    answers.append(api.grant(account.id, credits=500, kind="purchased", reason="welcome"))
    answers.append(api.consume(account.id, credits=120, reference="gen-1"))
    hold = api.hold(account.id, credits=50, reference="job-x")
    answers.append(hold)
    answers.append(api.capture(hold.id, credits=30))
    answers.append(api.balance(account.id))
    answers.append(api.ledger(account.id, limit=3))
    order = api.checkout(account.id, product="pack_10000")
    answers.append(order)
    answers.append(api.order(order.id))
    answers.append(api.invoice(order.id))
    subscription = api.subscribe(account.id, plan="tier1", interval="month")
    answers.append(subscription)
    answers.append(api.change_plan(subscription.id, plan="tier2"))
    answers.append(api.entitlements(account.id))
    answers.append(api.subscriptions(account.id))
    job = api.create_job(account.id, operation="upscale", image=png())
    answers.append(job)
    answers.append(api.job(job.id))
    answers.append(api.submit_refund_request(order_id=order.id, reason="change_of_mind"))
    answers.append(api.events(account_id=account.id, limit=100))
    return answers


ACTORS = re.compile(r'"(python|admin-env)"')
"""Who did it: the engine's caller in Python, or the API key over HTTP."""


def normalized(answers: list[Any]) -> list[Any]:
    """Ids differ from run to run, and who acted; everything else must not."""
    seen: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"{match.group(1)}#{len(seen) + 1}")

    def dumped(answer: Any) -> str:
        if isinstance(answer, list):
            return "[" + ",".join(dumped(item) for item in answer) + "]"
        return str(answer.model_dump_json())

    text = "\n".join(dumped(a) for a in answers)
    return ACTORS.sub('"<actor>"', ID.sub(name, text)).splitlines()


def test_one_scenario_through_the_engine_and_through_the_client_answers_alike(
    start_server: StartServer, tmp_path: Path
) -> None:
    with Engine(
        database_url=f"sqlite:///{tmp_path / 'local.db'}",
        catalog=CATALOG,
        clock=TestClock(START),
        data_dir=tmp_path / "local-data",
    ) as engine:
        local = normalized(scenario(engine))
    server = start_server(
        f"sqlite:///{tmp_path / 'served.db'}",
        "--catalog",
        str(CATALOG),
        "--test-clock",
        CREDITFLOW_TEST_CLOCK_START=START.isoformat(),
    )
    with Client(server.url, ADMIN) as client:
        remote = normalized(scenario(client))
    assert len(remote) == len(local)
    for mine, theirs in zip(local, remote, strict=True):
        assert theirs == mine


def test_the_client_raises_the_engines_typed_errors(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'errors.db'}", "--catalog", str(CATALOG))
    with Client(server.url, ADMIN) as client:
        account = client.create_account(external_id="bo", email="bo@example.com")
        with pytest.raises(InsufficientCredits) as short:
            client.consume(account.id, credits=5)
        assert (short.value.available, short.value.requested) == (0, 5)
        with pytest.raises(NotFound):
            client.order("ord_nope")
        with pytest.raises(Conflict) as taken:
            client.create_account(external_id="bo", email="bo@example.com")
        assert taken.value.code == "account_exists"
        with pytest.raises(InvalidImage) as bad:
            client.create_job(account.id, operation="upscale", image=b"not an image")
        assert bad.value.reason == "unsupported_format"


def test_a_retried_post_keeps_its_key_and_spends_once(
    start_server: StartServer, tmp_path: Path
) -> None:
    """The first answer is lost on the way back (a 502 from a proxy): the retry replays."""
    server = start_server(f"sqlite:///{tmp_path / 'retry.db'}", "--catalog", str(CATALOG))
    real = httpx.HTTPTransport()
    keys: list[str] = []
    lost = {"left": 1}

    def flaky(request: httpx.Request) -> httpx.Response:
        response = real.handle_request(request)
        if request.url.path.endswith("/consume"):
            keys.append(request.headers["idempotency-key"])
            if lost["left"]:
                lost["left"] -= 1
                response.read()
                return httpx.Response(502, text="bad gateway")
        return response

    with real, Client(server.url, ADMIN, transport=httpx.MockTransport(flaky)) as client:
        account = client.create_account(external_id="cy", email="cy@example.com")
        client.grant(account.id, credits=100, kind="purchased", reason="try")
        spent = client.consume(account.id, credits=40)
        assert spent.balance.available == 60
        assert client.balance(account.id).available == 60  # spent once, not twice
    assert len(keys) == 2 and keys[0] == keys[1]


def test_the_async_client_and_the_page_iterators(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'async.db'}", "--catalog", str(CATALOG))

    async def run() -> tuple[int, list[str]]:
        async with AsyncClient(server.url, ADMIN) as client:
            account = await client.create_account(external_id="di", email="di@example.com")
            for n in range(7):
                await client.grant(account.id, credits=10, kind="promo", reason=f"r{n}")
            entries = [e async for e in client.iter_ledger(account.id, limit=3)]
            balance = await client.balance(account.id)
            return balance.available, [e.type for e in entries]

    available, types = asyncio.run(run())
    assert available == 70 and types == ["grant"] * 7
    with Client(server.url, ADMIN) as client:
        assert len(list(client.iter_events(type="credits.granted", limit=2))) == 7
