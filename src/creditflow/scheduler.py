"""The background loops: the due-work queue on the real clock, mail and webhooks always.

With the test clock there is no due-work loop: time moves only on `POST /v1/test-clock/advance`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from creditflow.engine import Engine

log = logging.getLogger(__name__)

BATCH = 500
IDEMPOTENCY_KEPT = timedelta(hours=48)
"""Longer than the 24 hours the contract promises, so a key never vanishes early."""


class Repeating:
    """Work that runs every few seconds on either clock, in its own thread: mail to send and
    webhooks to deliver wait for no advance of a test clock. A full batch goes again at once."""

    def __init__(
        self, name: str, work: Callable[[], int], *, interval: float, batch: int = 100
    ) -> None:
        self._name = name
        self._work = work
        self._interval = interval
        self._batch = batch
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"creditflow-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = self._work()
            except Exception:  # a bad message or a database hiccup must not stop the loop
                log.exception("%s loop failed; trying again", self._name)
                done = 0
            if done < self._batch:
                self._stop.wait(self._interval)


def mail_loop(engine: Engine, *, interval: float = 2.0) -> Repeating:
    return Repeating("mail", engine.deliver_mail, interval=interval)


def webhook_loop(engine: Engine, *, interval: float = 1.0) -> Repeating:
    return Repeating("webhooks", engine.deliver_webhooks, interval=interval)


def due_work_loop(engine: Engine, *, interval: float = 1.0) -> Repeating:
    """The due-work queue on the real clock; old idempotency keys forgotten once a minute."""
    ticks = 0

    def work() -> int:
        nonlocal ticks
        worked = engine.run_due_work(limit=BATCH)
        if ticks % 60 == 0:
            engine.forget_idempotency_keys(older_than=IDEMPOTENCY_KEPT)
        ticks += 1
        return worked

    return Repeating("due-work", work, interval=interval, batch=BATCH)
