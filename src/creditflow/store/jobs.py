"""Repository of jobs, their outputs and the downloads of those outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, func, insert, select, update

from creditflow.store.tables import downloads, hold_allocations, job_outputs, jobs

_DOWNLOAD = (
    downloads.c.job_id,
    downloads.c.n,
    downloads.c.account_id,
    downloads.c.key_id,
    downloads.c.at,
)
"""A download's columns (its `seq` only orders them)."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    account_id: str
    operation: str
    params: str
    """The client's parameters as JSON text, exactly as accepted."""
    status: str
    cost: int
    hold_id: str | None
    free_quota: str | None
    """The per-month entitlement this job used instead of credits, if any."""
    quota_cycle_start: datetime | None
    input_sha256: str
    input_format: str
    input_width: int
    input_height: int
    input_bytes: int
    worker: str | None
    created_at: datetime
    claimed_at: datetime | None
    deadline_at: datetime | None
    finished_at: datetime | None
    error: str | None

    def evolve(self, **changes: Any) -> JobRecord:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class OutputRecord:
    job_id: str
    n: int
    sha256: str
    content_type: str
    name: str
    bytes: int


@dataclass(frozen=True, slots=True)
class DownloadRecord:
    job_id: str
    n: int
    account_id: str
    key_id: str
    at: datetime


_JOB_COLUMNS = [c for c in jobs.c if c.name != "seq"]


class JobRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def add(self, job: JobRecord) -> None:
        self._connection.execute(insert(jobs).values(**asdict(job)))

    def get(self, job_id: str, *, for_update: bool = False) -> JobRecord | None:
        query = select(*_JOB_COLUMNS).where(jobs.c.id == job_id)
        if for_update:
            query = query.with_for_update()
        row = self._connection.execute(query).mappings().first()
        return JobRecord(**row) if row else None

    def claim_next(
        self, *, operations: Sequence[str] | None, worker: str, now: datetime
    ) -> JobRecord | None:
        """Take the oldest queued job in one guarded statement: two workers never get one job.

        PostgreSQL skips rows another claimer has locked (`SKIP LOCKED`); SQLite has a single
        writer (`BEGIN IMMEDIATE`), so the subquery and the update cannot interleave there.
        The `status = 'queued'` guard on the update makes a lost race a no-op, never a double.
        """
        candidate = select(jobs.c.id).where(jobs.c.status == "queued")
        if operations is not None:
            candidate = candidate.where(jobs.c.operation.in_(list(operations)))
        candidate = candidate.order_by(jobs.c.seq).limit(1).with_for_update(skip_locked=True)
        job_id = self._connection.execute(candidate).scalar_one_or_none()
        if job_id is None:
            return None
        claimed = self._connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "queued")
            .values(status="running", worker=worker, claimed_at=now)
        )
        if claimed.rowcount != 1:
            return None
        return self.get(job_id)

    def save(self, job: JobRecord) -> None:
        values = asdict(job)
        values.pop("id")
        self._connection.execute(update(jobs).where(jobs.c.id == job.id).values(**values))

    def finish(
        self, job: JobRecord, *, status: str, now: datetime, error: str | None = None
    ) -> bool:
        """Move a queued or running job to its end once; False if someone else finished it."""
        done = self._connection.execute(
            update(jobs)
            .where(jobs.c.id == job.id, jobs.c.status.in_(("queued", "running")))
            .values(status=status, finished_at=now, error=error)
        )
        return done.rowcount == 1

    def page(
        self, account_id: str, *, before_seq: int | None, limit: int
    ) -> list[tuple[int, JobRecord]]:
        query = select(jobs.c.seq, *_JOB_COLUMNS).where(jobs.c.account_id == account_id)
        if before_seq is not None:
            query = query.where(jobs.c.seq < before_seq)
        rows = self._connection.execute(query.order_by(jobs.c.seq.desc()).limit(limit)).mappings()
        return [
            (row["seq"], JobRecord(**{k: v for k, v in row.items() if k != "seq"})) for row in rows
        ]

    def of_account_since(self, account_id: str, since: datetime) -> list[JobRecord]:
        rows = self._connection.execute(
            select(*_JOB_COLUMNS)
            .where(jobs.c.account_id == account_id, jobs.c.created_at >= since)
            .order_by(jobs.c.seq)
        ).mappings()
        return [JobRecord(**row) for row in rows]

    def paid_from_grants(
        self, account_id: str, since: datetime, grant_ids: Sequence[str]
    ) -> list[JobRecord]:
        """The account's jobs since `since` whose hold took credits from one of these grants,
        in one query (each job's allocations looked up by their key, in the database)."""
        if not grant_ids:
            return []
        paid = exists().where(
            hold_allocations.c.hold_id == jobs.c.hold_id,
            hold_allocations.c.grant_id.in_(list(grant_ids)),
        )
        rows = self._connection.execute(
            select(*_JOB_COLUMNS)
            .where(jobs.c.account_id == account_id, jobs.c.created_at >= since, paid)
            .order_by(jobs.c.seq)
        ).mappings()
        return [JobRecord(**row) for row in rows]

    def downloads_of(self, job_ids: Sequence[str]) -> dict[str, list[DownloadRecord]]:
        """The downloads of these jobs, by job, each job's in order."""
        found: dict[str, list[DownloadRecord]] = {job_id: [] for job_id in job_ids}
        for chunk in range(0, len(job_ids), 500):
            rows = self._connection.execute(
                select(*_DOWNLOAD)
                .where(downloads.c.job_id.in_(list(job_ids[chunk : chunk + 500])))
                .order_by(downloads.c.seq)
            ).mappings()
            for row in rows:
                found[row["job_id"]].append(DownloadRecord(**row))
        return found

    def failed_count(self, account_id: str) -> int:
        return self._connection.execute(
            select(func.count()).where(jobs.c.account_id == account_id, jobs.c.status == "failed")
        ).scalar_one()

    def add_outputs(self, outputs: Sequence[OutputRecord]) -> None:
        if outputs:
            self._connection.execute(insert(job_outputs), [asdict(o) for o in outputs])

    def outputs(self, job_id: str) -> list[OutputRecord]:
        rows = self._connection.execute(
            select(job_outputs).where(job_outputs.c.job_id == job_id).order_by(job_outputs.c.n)
        ).mappings()
        return [OutputRecord(**row) for row in rows]

    def add_download(self, download: DownloadRecord) -> None:
        self._connection.execute(insert(downloads).values(**asdict(download)))

    def downloads(self, job_id: str) -> list[DownloadRecord]:
        rows = self._connection.execute(
            select(*_DOWNLOAD).where(downloads.c.job_id == job_id).order_by(downloads.c.seq)
        ).mappings()
        return [DownloadRecord(**row) for row in rows]
