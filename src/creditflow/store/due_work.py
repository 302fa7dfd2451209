"""Repository of the due-work queue: what the clock makes due, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, select

from creditflow.store.records import DueItem
from creditflow.store.tables import due_work
from creditflow.store.upsert import insert_ignoring_duplicates

# Built once: a batch of due work runs these thousands of times.
_CANCEL = delete(due_work).where(
    due_work.c.task == bindparam("task"), due_work.c.subject_id == bindparam("subject_id")
)
_NEXT_DUE = (
    select(due_work.c.seq, due_work.c.due_at, due_work.c.task, due_work.c.subject_id)
    .where(due_work.c.due_at <= bindparam("until"))
    .order_by(due_work.c.due_at, due_work.c.rank, due_work.c.seq)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_DONE = delete(due_work).where(due_work.c.seq == bindparam("seq"))


class DueWorkRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def schedule(
        self, *, task: str, subject_id: str, due_at: datetime, now: datetime, rank: int = 100
    ) -> None:
        """Queue `task` for `subject_id`; one item per task and subject, the first one kept."""
        insert_ignoring_duplicates(
            self._connection,
            due_work,
            {
                "task": task,
                "subject_id": subject_id,
                "due_at": due_at,
                "created_at": now,
                "rank": rank,
            },
            index_elements=["task", "subject_id"],
        )

    def reschedule(
        self, *, task: str, subject_id: str, due_at: datetime, now: datetime, rank: int = 100
    ) -> None:
        """Queue `task` for `subject_id` at `due_at`, replacing any item already queued."""
        self.cancel(task=task, subject_id=subject_id)
        self.schedule(task=task, subject_id=subject_id, due_at=due_at, now=now, rank=rank)

    def cancel(self, *, task: str, subject_id: str) -> None:
        self._connection.execute(_CANCEL, {"task": task, "subject_id": subject_id})

    def next_due(self, until: datetime) -> DueItem | None:
        """The earliest item due at or before `until`; other servers skip the one locked here."""
        row = self._connection.execute(_NEXT_DUE, {"until": until}).first()
        return DueItem(row.seq, row.due_at, row.task, row.subject_id) if row else None

    def done(self, item: DueItem) -> None:
        self._connection.execute(_DONE, {"seq": item.seq})

    def count(self) -> int:
        return int(
            self._connection.execute(select(func.count()).select_from(due_work)).scalar_one()
        )
