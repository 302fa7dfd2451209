"""Where the test clock stands, kept across restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from creditflow.store.tables import clock_state
from creditflow.store.upsert import insert_ignoring_duplicates

TEST_CLOCK = "test"

_SAVE = update(clock_state).where(clock_state.c.name == TEST_CLOCK)
"""Built once: the test clock saves its position with every batch of due work."""


class ClockStateRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def saved_now(self) -> datetime | None:
        return self._connection.execute(
            select(clock_state.c.now).where(clock_state.c.name == TEST_CLOCK)
        ).scalar_one_or_none()

    def save(self, now: datetime) -> None:
        inserted = insert_ignoring_duplicates(
            self._connection, clock_state, {"name": TEST_CLOCK, "now": now}, index_elements=["name"]
        )
        if not inserted:
            self._connection.execute(_SAVE, {"now": now})
