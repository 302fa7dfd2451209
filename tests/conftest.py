"""Fixtures shared by every test: databases (SQLite and a real PostgreSQL), engines, clocks."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from creditflow.clock import TestClock
from creditflow.engine import Engine
from creditflow.mail.transports import EmlFolderTransport
from creditflow.payments.stripe import StripeAdapter
from creditflow.store.database import DatabaseSettings, create_db_engine
from creditflow.store.migrate import upgrade_to_head
from tests.pg_server import PostgresServer, find_bindir
from tests.stripe_api import StripeApi

REPO = Path(__file__).resolve().parents[1]
REFERENCE_CATALOGS = REPO / "tests" / "fixtures" / "catalogs"
"""Copies of ../shared/spec/catalogs, so a clone tests on its own; a test keeps them identical."""
SHARED_CATALOGS = REPO.parent / "shared" / "spec" / "catalogs"
START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)

_counter = 0


def _postgres_wanted() -> bool:
    return os.environ.get("CREDITFLOW_TEST_DATABASES", "sqlite,postgresql").find("postgresql") >= 0


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """A PostgreSQL server for the whole run, or None where none can be had outside CI."""
    if not _postgres_wanted():
        yield None
        return
    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test PostgreSQL, but no PostgreSQL server is installed")
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="creditflow-pg-"))
    server = PostgresServer(root).start()
    template = "creditflow_template"
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {template}")
    engine = create_db_engine(DatabaseSettings(url=_sqlalchemy(server.url_for(template))))
    upgrade_to_head(engine)
    engine.dispose()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    upgrade_to_head(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
) -> str:
    """A fresh, migrated database of each kind; every test that takes it runs on both."""
    if request.param == "sqlite":
        path = tmp_path / "creditflow.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    server: PostgresServer | None = request.getfixturevalue("postgres")
    if server is None:
        pytest.skip("no PostgreSQL server here")
    return fresh_postgres_database(server)


def fresh_postgres_database(server: PostgresServer) -> str:
    global _counter
    _counter += 1
    name = f"test_{os.getpid()}_{_counter}"
    with psycopg.connect(server.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE creditflow_template")
    return server.url_for(name)


def _sqlalchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def clock() -> TestClock:
    return TestClock(START)


@pytest.fixture
def engine(database_url: str, clock: TestClock, tmp_path: Path) -> Iterator[Engine]:
    with Engine(
        database_url=database_url,
        clock=clock,
        data_dir=tmp_path / "data",
        mail_transport=EmlFolderTransport(tmp_path / "mail"),
    ) as engine:
        yield engine


@pytest.fixture
def engine_with(
    database_url: str, clock: TestClock, tmp_path: Path
) -> Iterator[Callable[[str], Engine]]:
    """Engines on this test's database with a reference catalog (by file stem) or a TOML path."""
    made: list[Engine] = []

    def make(catalog: str) -> Engine:
        path = (
            Path(catalog) if catalog.endswith(".toml") else REFERENCE_CATALOGS / f"{catalog}.toml"
        )
        engine = Engine(
            database_url=database_url,
            clock=clock,
            catalog=path,
            data_dir=tmp_path / "data",
            mail_transport=EmlFolderTransport(tmp_path / "mail"),
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


@pytest.fixture
def stripe_api() -> Iterator[StripeApi]:
    """A stand-in for Stripe's API on loopback, up unless a test takes it down."""
    api = StripeApi().start()
    yield api
    api.stop()


@pytest.fixture
def engine_on_stripe(
    database_url: str, clock: TestClock, tmp_path: Path, stripe_api: StripeApi
) -> Iterator[Engine]:
    """The photo-credits catalog with the real Stripe adapter talking to `stripe_api`."""
    adapter = StripeAdapter(
        api_key="sk_test_1", webhook_secrets=["whsec_1"], api_base=stripe_api.url
    )
    with Engine(
        database_url=database_url,
        clock=clock,
        catalog=REFERENCE_CATALOGS / "photo-credits.toml",
        adapters={"stripe": adapter},
        data_dir=tmp_path / "data",
    ) as engine:
        yield engine
