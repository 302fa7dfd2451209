"""Where units of work get their connection.

PostgreSQL connections come from SQLAlchemy's pool. A SQLite connection is a file handle that
costs nothing to keep, and checking one out of a pool and back costs as much as a spend's SQL, so
each thread keeps its own connection for the life of the engine.
"""

from __future__ import annotations

import threading
from typing import Protocol

from sqlalchemy import Connection, Engine


class Connections(Protocol):
    def acquire(self) -> Connection: ...

    def release(self, connection: Connection) -> None: ...

    def close(self) -> None: ...


class PooledConnections:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(self) -> Connection:
        return self._engine.connect()

    def release(self, connection: Connection) -> None:
        connection.close()

    def close(self) -> None:
        self._engine.dispose()


class ThreadConnections:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._lock = threading.Lock()

    def acquire(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._engine.connect()
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def release(self, connection: Connection) -> None:
        """Kept for this thread's next unit of work."""

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._engine.dispose()


def connections_for(engine: Engine) -> Connections:
    if engine.dialect.name == "sqlite":
        return ThreadConnections(engine)
    return PooledConnections(engine)
