"""Group commit: the writes that arrive together share one transaction, and one fsync.

A durable commit costs far more than the handful of statements of a spend (the raw loop of
benchmarks/ledger.py: one spend per commit is a fifth of four per commit on SQLite FULL). A
`GroupCommit` takes every request waiting in its queue, runs them in one transaction, commits
once, and only then answers each caller. The first try runs them with no savepoints, two
statements fewer per request; if any request is refused, the batch is rolled back and run
again with each request in a savepoint of its own, so the refusal undoes only itself and the
others commit.

If the database itself fails mid-batch (a lost connection, a deadlock, a constraint the domain
did not foresee), the whole batch is rolled back and each request is run again alone, so one
request's trouble never becomes another's error. A failed COMMIT is reported to every request
of the batch and never retried: its outcome may be unknown.

On SQLite there is one writer per database: it and every other writing unit of work take the
process's write lock before `BEGIN IMMEDIATE`, so none of them sleeps in SQLite's busy handler.
On PostgreSQL requests are sharded by account over a few writers; a batch runs its requests in
account order, so two writers always lock accounts in the same order and never deadlock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from creditflow.store.connections import Connections, WriteLock

T = TypeVar("T")
MAX_BATCH = 64
"""Requests per transaction at most: enough to amortise the fsync, few enough for latency."""
GATHER_SECONDS = 0.0005
"""How long a batch waits for the callers of the last one to come back (about one fsync)."""


class WriteRequest(Generic[T]):
    """One caller's work, run on the writer's connection inside the batch's transaction.

    `work` opens a `UnitOfWork(within=connection)`: in a savepoint when the connection's
    `info[SAVEPOINTS]` says so, which undoes its changes when it fails; `order` is the account
    it locks, for the order of the batch.
    """

    __slots__ = ("_done", "_future", "_loop", "error", "order", "result", "work")

    def __init__(self, work: Callable[[Connection], T], order: str) -> None:
        self.work = work
        self.order = order
        self.result: T | None = None
        self.error: BaseException | None = None
        self._done: threading.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._future: asyncio.Future[T] | None = None

    def run(self, connection: Connection) -> str:
        """Run the work: DONE, REFUSED (its answer is an error) or BROKEN (the database's)."""
        try:
            self.result = self.work(connection)
            self.error = None
        except (SQLAlchemyError, *DRIVER_ERRORS) as error:
            self.error = error
            return BROKEN
        except Exception as error:  # a refusal (InsufficientCredits, …): this request's answer
            self.error = error
            return REFUSED
        return DONE

    def settle(self) -> None:
        """Hand the answer to the caller, on its thread or its event loop."""
        if self._loop is not None:
            # A loop that closed while its caller waited has no one left to tell.
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._resolve)
        elif self._done is not None:
            self._done.set()

    def _resolve(self) -> None:
        future = self._future
        if future is None or future.done():
            return
        if self.error is not None:
            future.set_exception(self.error)
        else:
            future.set_result(self.result)  # type: ignore[arg-type]

    def answer(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


DONE, REFUSED, BROKEN = "done", "refused", "broken"
COMMITTED, ISOLATE, ALONE = "committed", "isolate", "alone"
"""What became of a batch: committed (every request has its answer), to be run again with each
request in a savepoint, or to be run again one request per transaction."""
SAVEPOINTS = "group_commit_savepoints"
"""Set in the connection's `info` for the units of work of a batch (`UnitOfWork(within=...)`):
whether each opens a savepoint of its own."""


class RunIsolated(Exception):
    """Raised by work that needs its own savepoint to go on (to retry after losing a race)."""


DRIVER_ERRORS = (sqlite3.Error, psycopg.Error)
"""The drivers' own errors: raw statements (store.raw_sql) raise them unwrapped."""


class GroupCommit:
    """One writer and its queue.

    The writer is whoever holds `_leader`: the writer thread, or a calling thread that found
    the writer idle and writes its request itself (with whatever else is queued), which spares
    a lone caller two thread switches per write. Callers that find it busy queue for the
    thread, which writes them all in the next batch.
    """

    def __init__(
        self,
        connections: Connections,
        *,
        name: str = "creditflow-writer",
        max_batch: int = MAX_BATCH,
        write_lock: WriteLock | None = None,
    ) -> None:
        self._connections = connections
        self._name = name
        self._max_batch = max_batch
        self._write_lock = write_lock
        self._queue: deque[WriteRequest[Any]] = deque()
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._closed = False
        self._leader = threading.Lock()
        self._paused = False
        self._expected = 1
        """Requests likely in the next batch: the last batch's and those queued behind it.
        A caller writes its own request only while this is 1: a lone caller."""
        self.batches = 0
        """Transactions committed; with `requests`, how well writes were grouped."""
        self.requests = 0

    # Submitting

    def run(self, work: Callable[[Connection], T], *, order: str = "") -> T:
        """Do `work` in the next batch and return its answer once the batch is durable."""
        request = WriteRequest(work, order)
        if self._expected <= 1 and self._leader.acquire(blocking=False):
            try:
                with self._wake:
                    if self._closed:
                        raise RuntimeError("this engine is closed")
                    others = min(len(self._queue), self._max_batch - 1)
                    batch = [request, *(self._queue.popleft() for _ in range(others))]
                self._write(batch)
            finally:
                self._leader.release()
            with self._wake:
                self._expect_after(batch)
                if self._queue:  # what came while this thread wrote: the thread's to write
                    self._wake.notify()
            return request.answer()
        request._done = threading.Event()
        self._submit(request)
        request._done.wait()
        return request.answer()

    async def run_async(self, work: Callable[[Connection], T], *, order: str = "") -> T:
        """As `run`, awaited: the event loop never waits for the database or its fsync."""
        request = WriteRequest(work, order)
        request._loop = asyncio.get_running_loop()
        request._future = request._loop.create_future()
        self._submit(request)
        return await request._future

    def _submit(self, request: WriteRequest[Any]) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("this engine is closed")
            self._queue.append(request)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()

    @property
    def queued(self) -> int:
        """Requests waiting for a batch."""
        with self._wake:
            return len(self._queue)

    def pause(self) -> None:
        """Write nothing until `resume`: what is asked meanwhile queues for one batch."""
        self._leader.acquire()
        with self._wake:
            self._paused = True

    def resume(self) -> None:
        with self._wake:
            self._paused = False
            self._wake.notify()
        self._leader.release()

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        with self._wake:
            self._closed = True
            thread = self._thread
            self._wake.notify()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # The writer thread

    def _serve(self) -> None:
        while (batch := self._take(self._expected)) is not None:
            if not batch:  # a caller wrote what was queued itself
                continue
            with self._leader:
                self._write(batch)
            with self._wake:
                self._expect_after(batch)

    def _expect_after(self, batch: list[WriteRequest[Any]]) -> None:
        """The callers just answered and those already waiting: all likely in the next batch.
        Called holding `_wake`."""
        self._expected = min(len(batch) + len(self._queue), self._max_batch)

    def _take(self, expected: int) -> list[WriteRequest[Any]] | None:
        """The next batch: what is queued, once as many requests as `expected` are in or
        `GATHER_SECONDS` have passed; None once closed with nothing left.

        Without the wait, the first caller back would start a batch of one while the others
        are still on their way, and batches would stay small."""
        queue = self._queue
        with self._wake:
            while (not queue or self._paused) and not self._closed:
                self._wake.wait()
            if not queue:
                return None
            if len(queue) < expected and not self._closed:
                deadline = time.monotonic() + GATHER_SECONDS
                while len(queue) < expected and (left := deadline - time.monotonic()) > 0:
                    self._wake.wait(left)
            return [queue.popleft() for _ in range(min(len(queue), self._max_batch))]

    def _write(self, batch: list[WriteRequest[Any]]) -> None:
        """Write the batch: first with no savepoints (two statements fewer per request), which
        holds while no request fails; if one does, the batch is rolled back and run again with
        each request in a savepoint of its own, or, if the database failed, one at a time."""
        if len(batch) > 1:
            batch.sort(key=_lock_order)
        try:
            outcome = self._commit(batch, isolated=False)
            if outcome == ISOLATE:
                outcome = self._commit(batch, isolated=True)
            if outcome == ALONE:
                for request in batch:
                    if self._commit([request], isolated=False) == ISOLATE:
                        self._commit([request], isolated=True)
        except Exception as error:  # pragma: no cover - a bug here must not strand callers
            for request in batch:
                request.result, request.error = None, error
        finally:
            for request in batch:
                request.settle()

    def _commit(self, batch: list[WriteRequest[Any]], *, isolated: bool) -> str:
        """Run the batch in one transaction and commit it, unless it must be run again."""
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            return self._commit_locked(batch, isolated)
        finally:
            if lock is not None:
                lock.release()

    def _commit_locked(self, batch: list[WriteRequest[Any]], isolated: bool) -> str:
        # A connection per batch, like any unit of work's: the pool's count stays honest, and
        # one that broke is dropped by `release`.
        connection = self._connections.acquire()
        connection.info["sqlite_begin"] = "IMMEDIATE"
        connection.info[SAVEPOINTS] = isolated
        try:
            return self._run_batch(connection, batch, isolated)
        finally:
            connection.info[SAVEPOINTS] = True  # the default, for whoever uses it next
            self._connections.release(connection)

    def _run_batch(
        self, connection: Connection, batch: list[WriteRequest[Any]], isolated: bool
    ) -> str:
        try:
            transaction = connection.begin()
        except Exception as error:
            connection.invalidate()
            for request in batch:
                request.error = error
            return COMMITTED
        for request in batch:
            outcome = request.run(connection)
            if outcome == DONE or (outcome == REFUSED and isolated):
                continue  # a refusal in a savepoint took back its own changes
            try:
                transaction.rollback()
            except Exception:
                connection.invalidate()
            if isinstance(request.error, RunIsolated):
                redo = ISOLATE
            elif len(batch) == 1:
                return COMMITTED  # alone, its error is its answer and the rollback undid it
            else:
                redo = ALONE if outcome == BROKEN else ISOLATE
            for each in batch:
                each.result, each.error = None, None
            return redo
        try:
            transaction.commit()
        except Exception as error:
            connection.invalidate()
            for request in batch:
                request.result, request.error = None, error
            return COMMITTED
        self.batches += 1
        self.requests += len(batch)
        return COMMITTED


def _lock_order(request: WriteRequest[Any]) -> str:
    return request.order


class Writers:
    """The group-commit writers of one database: one on SQLite, one per shard on PostgreSQL."""

    def __init__(
        self, connections: Connections, *, shards: int, write_lock: WriteLock | None = None
    ) -> None:
        self._shards = [
            GroupCommit(connections, name=f"creditflow-writer-{n}", write_lock=write_lock)
            for n in range(shards)
        ]

    def for_account(self, account_id: str) -> GroupCommit:
        if len(self._shards) == 1:
            return self._shards[0]
        return self._shards[zlib.crc32(account_id.encode()) % len(self._shards)]

    def run(self, account_id: str, work: Callable[[Connection], T]) -> T:
        return self.for_account(account_id).run(work, order=account_id)

    async def run_async(self, account_id: str, work: Callable[[Connection], T]) -> T:
        return await self.for_account(account_id).run_async(work, order=account_id)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold every writer: what is asked meanwhile waits, and is written in one batch per
        writer once this ends (tests; a pause for maintenance)."""
        for shard in self._shards:
            shard.pause()
        try:
            yield
        finally:
            for shard in self._shards:
                shard.resume()

    @property
    def shards(self) -> list[GroupCommit]:
        return list(self._shards)

    @property
    def sharded(self) -> bool:
        return len(self._shards) > 1

    @property
    def batches(self) -> int:
        return sum(s.batches for s in self._shards)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self._shards)

    def close(self) -> None:
        for shard in self._shards:
            shard.close()
