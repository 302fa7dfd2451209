"""Connections to SQLite or PostgreSQL, configured for money.

SQLite runs in WAL mode with `synchronous=FULL` by default, so a spend acknowledged to a caller
survives a power cut; `NORMAL` is an opt-in that trades the last few commits for speed. Every
writing transaction on SQLite starts with `BEGIN IMMEDIATE`: the write lock is taken up front, so
two writers never both read a balance and then both fail to upgrade to a write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_FILE = "creditflow.db"
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")
_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED"}


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    sqlite_synchronous: str = "FULL"
    pool_size: int = 10


def database_url(explicit: str | None, environ: Mapping[str, str]) -> str:
    """`--db` wins, then `CREDITFLOW_DATABASE_URL`, then a SQLite file in the working folder."""
    raw = explicit or environ.get("CREDITFLOW_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_FILE}"
    return normalize_url(raw)


def normalize_url(raw: str) -> str:
    """Accept the URLs people write (`postgresql://`, `postgres://`) and pick psycopg 3."""
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    url = make_url(raw)
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {raw!r}: use sqlite:///FILE or postgresql://…")
    return raw


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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        mode = connection.info.get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: this runs before every transaction, on the spend path.
        connection.connection.driver_connection.execute(_BEGIN[mode])  # type: ignore[union-attr]

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
