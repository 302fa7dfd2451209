"""Where units of work get their connection.

A unit of work takes a connection when it starts and gives it back when it ends, whichever thread
it runs on. A connection kept by a thread is lost when the thread ends, and the server's worker
threads end after a few idle seconds (anyio retires them after 10): every quiet spell would cost
the pool a few connections, until none were left.

PostgreSQL connections come straight from SQLAlchemy's pool, which also retires them after
`pool_recycle`; next to a spend's round trips, the checkout costs nothing. SQLite's come from a
stack of open connections kept in front of the pool: a checkout builds a new `Connection` each
time, which made a balance read 60 % slower; a pop off the stack costs a microsecond or two.
"""

from __future__ import annotations

import threading
from typing import Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.pool import QueuePool


class WriteLock(Protocol):
    def acquire(self) -> object: ...

    def release(self) -> None: ...


class Connections(Protocol):
    write_lock: WriteLock | None
    """Taken around every writing transaction where the database has one writer at a time
    (SQLite): threads queue on it, instead of sleeping in the driver's busy handler."""

    def acquire(self) -> Connection:
        """A connection for one unit of work, on the calling thread, until `release`."""
        ...

    def release(self, connection: Connection) -> None:
        """Take back a connection from `acquire`, whatever state the unit of work left it in."""
        ...

    def close(self) -> None: ...


class PooledConnections:
    write_lock: WriteLock | None = None

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(self) -> Connection:
        return self._engine.connect()

    def release(self, connection: Connection) -> None:
        connection.close()

    def close(self) -> None:
        self._engine.dispose()


class CachedConnections:
    """SQLAlchemy's pool, with up to `pool_size` idle connections kept open in front of it.

    A connection on the stack is still checked out of the pool. So that no thread waits in the
    pool (all the connections it may open being lent out) while one lies idle on the stack, a
    connection given back while any thread is in the pool's checkout goes to the pool instead,
    which hands it to that thread.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        pool = engine.pool
        self._keep = pool.size() if isinstance(pool, QueuePool) else 1
        self._idle: list[Connection] = []
        self._connecting = 0
        """Threads in the pool's checkout: each may be waiting for a connection to come back."""
        self._closed = False
        self._lock = threading.Lock()
        # Reentrant: a thread that opened a second writing transaction used to wait out the
        # busy timeout and fail; it still does, rather than hang.
        self.write_lock: WriteLock | None = threading.RLock()

    def acquire(self) -> Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self._connecting += 1
        try:
            return self._engine.connect()
        finally:
            with self._lock:
                self._connecting -= 1

    def release(self, connection: Connection) -> None:
        if _reusable(connection):
            with self._lock:
                if not (self._closed or self._connecting) and len(self._idle) < self._keep:
                    self._idle.append(connection)
                    return
        elif not connection.closed and not connection.invalidated:
            # A transaction still open in the driver would greet the next user of this
            # connection; the pool does not reset connections (`pool_reset_on_return=None`).
            connection.invalidate()
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        self._engine.dispose()


def _reusable(connection: Connection) -> bool:
    """Open, valid, and with no transaction open, neither in SQLAlchemy nor in the driver."""
    if connection.closed or connection.invalidated or connection.in_transaction():
        return False
    return not connection.connection.driver_connection.in_transaction  # type: ignore[union-attr]


def connections_for(engine: Engine) -> Connections:
    if engine.dialect.name == "sqlite":
        return CachedConnections(engine)
    return PooledConnections(engine)
