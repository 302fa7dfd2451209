"""The background loop that works the due-work queue on the real clock.

With the test clock there is no loop: time moves only on `POST /v1/test-clock/advance`.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from creditflow.engine import Engine

log = logging.getLogger(__name__)

BATCH = 500
IDEMPOTENCY_KEPT = timedelta(hours=48)
"""Longer than the 24 hours the contract promises, so a key never vanishes early."""


class DueWorkLoop:
    def __init__(self, engine: Engine, *, interval: float = 1.0) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="creditflow-due-work", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        ticks = 0
        while not self._stop.is_set():
            try:
                worked = self._engine.run_due_work(limit=BATCH)
                if ticks % 60 == 0:
                    self._engine.forget_idempotency_keys(older_than=IDEMPOTENCY_KEPT)
            except Exception:  # the loop must outlive a database hiccup
                log.exception("due work loop failed; trying again")
                worked = 0
            ticks += 1
            if worked < BATCH:
                self._stop.wait(self._interval)


class MailLoop:
    """Sends queued mail every few seconds, on either clock: mail waits for no advance."""

    def __init__(self, engine: Engine, *, interval: float = 2.0) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="creditflow-mail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._engine.deliver_mail()
            except Exception:  # a bad message or a database hiccup must not stop the mail
                log.exception("mail loop failed; trying again")
            self._stop.wait(self._interval)
