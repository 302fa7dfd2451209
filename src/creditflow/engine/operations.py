"""The Python API of the clock, its due work, integrity checks and API keys."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from creditflow.clock import TestClock, as_utc
from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.services import api_keys as key_cases
from creditflow.services.context import ServiceContext
from creditflow.services.due_work import run_due_work
from creditflow.services.idempotency import run_in_steps
from creditflow.services.integrity import Violation, check_ledger
from creditflow.services.views import ApiKeyView, ClockView
from creditflow.store.api_keys import ApiKeyRecord


class Operations(Part):
    def __init__(self, context: ServiceContext) -> None:
        super().__init__(context)
        self._clock_lock = threading.Lock()
        if isinstance(self.clock, TestClock):
            self._resume_test_clock(self.clock)

    # The clock and its due work

    @property
    def test_clock(self) -> TestClock | None:
        return self.clock if isinstance(self.clock, TestClock) else None

    def run_due_work(self, *, limit: int | None = None) -> int:
        """Work what is due now (the background loop calls this)."""
        return run_due_work(self.context, until=self.clock.now(), limit=limit)

    def advance_clock(
        self,
        *,
        seconds: int | None = None,
        to: datetime | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> ClockView:
        """Move the test clock, working every due item in time order on the way.

        The advance spans many transactions (many due items each): its key is bound to the target
        time first, so a retry after a crash moves on to the same instant, never further.
        """
        clock = self.test_clock
        if clock is None:
            raise NotFound("The test clock is off; start the service with --test-clock.")
        processed = 0

        def advance(target_text: str) -> None:
            nonlocal processed
            with self._clock_lock:
                target = datetime.fromisoformat(target_text)
                if target > clock.now():
                    processed = run_due_work(self.context, until=target, test_clock=clock)
                    clock.move_to(target)
                    self._save_test_clock(clock)

        return run_in_steps(
            self.context,
            key_for(idempotency_key, "advance_clock", seconds, to),
            ClockView,
            begin=lambda uow, now: _advance_target(now, seconds=seconds, to=to).isoformat(),
            proceed=advance,
            finish=lambda uow, target: ClockView(
                now=datetime.fromisoformat(target), processed=processed
            ),
        )

    def saved_test_clock(self) -> datetime | None:
        """Where a test clock last stood on this database; None if it never ran one."""
        return self._read(lambda uow: uow.clock_state.saved_now())

    def _save_test_clock(self, clock: TestClock) -> None:
        self._plain(lambda uow: uow.clock_state.save(clock.now()))

    def _resume_test_clock(self, clock: TestClock) -> None:
        """A restarted test-clock server resumes at the time its clock last stood."""
        with self.context.writing() as uow:
            saved = uow.clock_state.saved_now()
            if saved is None:
                uow.clock_state.save(clock.now())
                uow.commit()
        if saved is not None:
            clock.move_to(saved)

    # Operations

    def forget_idempotency_keys(self, *, older_than: timedelta) -> int:
        cutoff = self.clock.now() - older_than
        return self._plain(lambda uow: uow.idempotency.forget_older_than(cutoff))

    def check(self) -> list[Violation]:
        return self._read(lambda uow: check_ledger(uow.connection))

    def create_api_key(self, *, role: str, label: str | None = None) -> ApiKeyView:
        return self._plain(
            lambda uow: key_cases.create_api_key(uow, now=self.clock.now(), role=role, label=label)
        )

    def has_api_keys(self) -> bool:
        """Whether any API key (not revoked) can sign in."""
        return self._read(lambda uow: uow.api_keys.any_active())

    def find_api_key_by_hash(self, secret_hash: str) -> ApiKeyRecord | None:
        return self._read(lambda uow: uow.api_keys.find_by_hash(secret_hash))


def _advance_target(now: datetime, *, seconds: int | None, to: datetime | None) -> datetime:
    if (seconds is None) == (to is None):
        raise InvalidRequest("Give either seconds or to, not both and not neither.")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise InvalidRequest("seconds must be a whole number, 0 or more.", field="seconds")
        if seconds > 20 * 366 * 86400:
            raise InvalidRequest("seconds may move the clock at most 20 years.", field="seconds")
        return now + timedelta(seconds=seconds)
    assert to is not None
    target = as_utc(to)
    if target < now:
        raise InvalidRequest("The test clock never goes back.", field="to", now=now.isoformat())
    return target
