"""Connections to SQLite or PostgreSQL, configured for money.

SQLite runs in WAL mode with `synchronous=FULL` by default, so a spend acknowledged to a caller
survives a power cut; `NORMAL` is an opt-in that trades the last few commits for speed. Every
writing transaction on SQLite starts with `BEGIN IMMEDIATE`: the write lock is taken up front, so
two writers never both read a balance and then both fail to upgrade to a write.

A command that only reads a database first asks `check_database`, which says in one sentence
that a file or database is missing, or which server does not answer, instead of making a new
empty database or printing a driver's traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool

from creditflow.domain.errors import CreditflowError

DEFAULT_SQLITE_FILE = "creditflow.db"
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
URL_FORMS = "sqlite:///FILE (or just a file name) or postgresql://user@host:port/db"
_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED"}
_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: `C:\x.db` is a path
_SQLITE_HEADER = b"SQLite format 3\x00"
_PROBE_TIMEOUT_SECONDS = 10

T = TypeVar("T")


class DatabaseUnavailable(CreditflowError):
    """The database a command names is not there, or its server cannot be reached."""

    code = "database_unavailable"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    sqlite_synchronous: str = "FULL"
    pool_size: int = 10


SQLITE_CACHE_KIB = 64 * 1024


def database_url(explicit: str | None, environ: Mapping[str, str]) -> str:
    """`--db` wins, then `CREDITFLOW_DATABASE_URL`, then a SQLite file in the working folder."""
    raw = explicit or environ.get("CREDITFLOW_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_FILE}"
    return normalize_url(raw)


def normalize_url(raw: str) -> str:
    """Accept what people write (a file name, `postgresql://`, `postgres://`); pick psycopg 3.

    Anything else is refused in a sentence that shows the forms creditflow takes.
    """
    given = raw
    if not _SCHEME.match(raw):  # a bare path, such as `creditflow.db` or `/srv/credits.db`
        raw = f"sqlite:///{raw}"
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ValueError(f"{_shown(given)} is not a database URL; use {URL_FORMS}.") from None
    if _DRIVERS.get(url.get_backend_name()) != url.get_driver_name():
        raise ValueError(f"{_shown(given)} is not SQLite or PostgreSQL; use {URL_FORMS}.")
    return raw


def _shown(raw: str) -> str:
    """The URL as given, without its password."""
    return repr(re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", raw))


def check_database(url: str, *, create: bool = False) -> None:
    """Refuse, in one sentence, a database that is not there or whose server does not answer.

    With `create`, a missing SQLite file is fine: the migrations make it. A PostgreSQL database
    is made by whoever runs the server, so a missing one is refused either way.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_file(parsed, create=create)
    else:
        _check_postgres(parsed)


def _check_sqlite_file(url: URL, *, create: bool) -> None:
    if url.database in (None, "", ":memory:"):
        return
    path = Path(url.database)
    if path.is_file():
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
        if header and header != _SQLITE_HEADER:  # an empty file is an empty database
            raise DatabaseUnavailable(f"{path.absolute()} is not a SQLite database.")
    elif path.exists():
        raise DatabaseUnavailable(f"{path.absolute()} is a folder, not a SQLite database.")
    elif not create:
        raise DatabaseUnavailable(
            f"There is no database at {path.absolute()}: name an existing one with --db, "
            "or run `creditflow serve` to start a new one."
        )
    elif not path.absolute().parent.is_dir():
        raise DatabaseUnavailable(
            f"Cannot make the database {path.absolute()}: "
            f"the folder {path.absolute().parent} does not exist."
        )


def _check_postgres(url: URL) -> None:
    try:
        _probe(url, lambda connection: None)
        return
    except DBAPIError as error:
        reason = _reason(error)
    if url.database is not None and not _server_has_database(url):
        raise DatabaseUnavailable(
            f"There is no database {url.database!r} on the PostgreSQL server at {_server(url)}: "
            f"create it with `{_createdb(url)}`, or name an existing one with --db."
        )
    raise DatabaseUnavailable(f"Cannot connect to PostgreSQL at {_server(url)}: {reason}.")


def _server_has_database(url: URL) -> bool:
    """Asked through the server's own `postgres` database; True when that cannot be asked
    either, since then the first connection's reason is the one to show."""

    def lists(connection: Connection) -> bool:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        ).first()
        return found is not None

    try:
        return _probe(url.set(database="postgres"), lists)
    except DBAPIError:
        return True


def _probe(url: URL, use: Callable[[Connection], T]) -> T:
    """Open one connection, waiting a few seconds at most, `use` it, and close it."""
    engine = create_engine(
        url, poolclass=NullPool, connect_args={"connect_timeout": _PROBE_TIMEOUT_SECONDS}
    )
    try:
        with engine.connect() as connection:
            return use(connection)
    finally:
        engine.dispose()


def _createdb(url: URL) -> str:
    options = {"-h": url.host, "-p": url.port, "-U": url.username}
    given = [f"{flag} {value}" for flag, value in options.items() if value]
    return " ".join(["createdb", *given, str(url.database)])


def _server(url: URL) -> str:
    port = url.port or 5432
    if not url.host:
        return f"the local socket (port {port})"
    return f"[{url.host}]:{port}" if ":" in url.host else f"{url.host}:{port}"


def _reason(error: DBAPIError) -> str:
    """libpq's reason in a few words: `Connection refused`, `database "x" does not exist`."""
    lines = str(error.orig).strip().splitlines() or ["no reason given"]
    reason = lines[0].rsplit("failed: ", 1)[-1]
    return re.sub(r"^[A-Z]+:\s+", "", reason).rstrip(".")


def create_db_engine(settings: DatabaseSettings) -> Engine:
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings)
    return create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        # No pre-ping: it would cost a round trip per transaction; pool_recycle retires
        # connections before a server or proxy would time them out.
        pool_recycle=1800,
        pool_reset_on_return=None,  # every unit of work ends its own transaction
    )


def _sqlite_engine(settings: DatabaseSettings) -> Engine:
    synchronous = settings.sqlite_synchronous.upper()
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"sqlite synchronous must be one of {SQLITE_SYNCHRONOUS}")
    engine = create_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size * 4,
        connect_args={"timeout": 60, "check_same_thread": False},
        pool_reset_on_return=None,  # every unit of work ends its own transaction
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); the driver's own transaction handling would defer it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        # Up to 64 MiB of pages per connection (SQLite's default is 2 MiB), taken only as pages
        # are read: a year of renewals on 10,000 accounts ran 9 % faster, and stopped slowing
        # as the tables grew (benchmarks/clock.py).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.info.get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: this runs before every transaction, on the spend path.
        connection.connection.driver_connection.execute(_BEGIN[mode])  # type: ignore[union-attr]

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
