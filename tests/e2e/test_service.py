"""Real `creditflow serve` processes over HTTP: start-up, concurrency, crashes."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from creditflow.store.database import normalize_url
from tests.e2e.server import Server, creditflow_command

StartServer = Callable[..., Server]


def _account_with(client: httpx.Client, credits: int) -> str:
    created = client.post("/v1/accounts", json={"external_id": "e2e", "email": "e@x.io"})
    assert created.status_code == 201, created.text
    account_id: str = created.json()["id"]
    grant = {"credits": credits, "kind": "purchased", "reason": "e2e"}
    assert client.post(f"/v1/accounts/{account_id}/grants", json=grant).status_code == 201
    return account_id


def _check(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        creditflow_command("check", "--db", database_url),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_test_clock_the_test_clock_paths_are_404(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url)
    with server.client() as client:
        assert client.get("/v1/test-clock").status_code == 404
        assert client.post("/v1/test-clock/advance", json={"seconds": 5}).status_code == 404
        assert client.get("/healthz").json() == {"status": "ok"}


def test_a_key_made_by_the_cli_authenticates_with_its_role(
    start_server: StartServer, database_url: str, tmp_path: Path
) -> None:
    made = subprocess.run(
        creditflow_command("keys", "create", "--role", "support", "--db", database_url),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=True,
    )
    secret = made.stdout.strip()
    server = start_server(database_url)
    with server.client() as admin:
        account = _account_with(admin, 10)
    headers = {"Authorization": f"Bearer {secret}"}
    balance = httpx.get(f"{server.url}/v1/accounts/{account}/balance", headers=headers)
    assert balance.json()["available"] == 10
    spend = httpx.post(
        f"{server.url}/v1/accounts/{account}/consume", headers=headers, json={"credits": 1}
    )
    assert spend.status_code == 403
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT secret_hash FROM api_keys")).scalar_one()
    engine.dispose()
    assert secret not in stored and len(stored) == 64


def test_two_servers_starting_at_once_on_a_new_database_both_come_up(
    start_server: StartServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for url in _fresh_unmigrated_databases(tmp_path, request):
        first = start_server(url, wait=False)
        second = start_server(url, wait=False)
        first.wait_ready()
        second.wait_ready()
        with first.client() as client:
            account = _account_with(client, 5)
        with second.client() as client:
            assert client.get(f"/v1/accounts/{account}/balance").json()["available"] == 5


def _fresh_unmigrated_databases(tmp_path: Path, request: pytest.FixtureRequest) -> list[str]:
    import psycopg

    urls = [f"sqlite:///{tmp_path / 'race.db'}"]
    server = request.getfixturevalue("postgres")
    if server is not None:
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute("CREATE DATABASE migration_race")
        urls.append(server.url_for("migration_race"))
    return urls


def test_a_bad_catalog_is_refused_at_start_naming_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[site]\nname = "x"\ncurrency = "USD"\ntimezone = "UTC"\n'
        '[credits]\npriority = { gold = 1 }\nchannels = ["web"]\n'
    )
    result = subprocess.run(
        creditflow_command("serve", "--catalog", str(bad), "--db", f"sqlite:///{tmp_path}/x.db"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "bad.toml" in result.stderr and "priority" in result.stderr and "gold" in result.stderr


def test_check_names_the_account_whose_cached_balance_disagrees_with_its_entries(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url)
    with server.client() as client:
        account = _account_with(client, 100)
        client.post(f"/v1/accounts/{account}/consume", json={"credits": 10})
    server.stop()
    assert _check(database_url).returncode == 0
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as connection:
        connection.execute(text("UPDATE accounts SET available = available + 1"))
    engine.dispose()
    result = _check(database_url)
    assert result.returncode == 1
    assert account in result.stderr


@pytest.mark.slow
def test_several_servers_on_postgresql_never_overspend_one_account(
    start_server: StartServer, request: pytest.FixtureRequest
) -> None:
    from tests.conftest import fresh_postgres_database

    pg = request.getfixturevalue("postgres")
    if pg is None:
        pytest.skip("no PostgreSQL server here")
    url = fresh_postgres_database(pg)
    servers = [start_server(url) for _ in range(3)]
    with servers[0].client() as client:
        account = _account_with(client, 1000)
    succeeded = refused = 0
    lock = threading.Lock()

    def spend(server: Server) -> None:
        nonlocal succeeded, refused
        with server.client() as client:
            for _ in range(25):
                response = client.post(f"/v1/accounts/{account}/consume", json={"credits": 7})
                assert response.status_code in (200, 402), response.text
                with lock:
                    if response.status_code == 200:
                        succeeded += 1
                    else:
                        refused += 1

    threads = [threading.Thread(target=spend, args=(servers[i % 3],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (succeeded, refused) == (1000 // 7, 300 - 1000 // 7)
    with servers[1].client() as client:
        balance = client.get(f"/v1/accounts/{account}/balance").json()
    assert balance["available"] == 1000 % 7
    for server in servers:
        server.stop()
    result = _check(url)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_every_acknowledged_spend_survives_a_sigkill_of_the_server(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url)
    with server.client() as client:
        account = _account_with(client, 10**9)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def spend(worker: int) -> None:
        with server.client() as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = client.post(
                        f"/v1/accounts/{account}/consume",
                        json={"credits": 1, "reference": f"w{worker}-{n}"},
                    )
                except httpx.HTTPError:
                    return  # the server died mid-request: that spend was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(response.json()["transaction_id"])

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 300

    restarted = start_server(database_url)
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as connection:
        stored = set(
            connection.execute(
                text("SELECT transaction_id FROM entries WHERE type = 'consume'")
            ).scalars()
        )
    engine.dispose()
    assert set(acknowledged) <= stored
    with restarted.client() as client:
        balance = client.get(f"/v1/accounts/{account}/balance").json()
    assert balance["available"] == 10**9 - len(stored)
    restarted.stop()
    result = _check(database_url)
    assert result.returncode == 0, result.stderr
