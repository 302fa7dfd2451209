"""Opaque public ids with a type prefix (`acc_…`, `grt_…`), as the API contract asks."""

from __future__ import annotations

import os
import threading

_PER_READ = 256
"""Ids' random digits drawn from the OS per read: a renewal makes a dozen ids, and a system
call for each was a twentieth of the due-work queue's time."""
_drawn: list[str] = []
_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """A prefix and 24 random hex digits (96 bits): unguessable and collision-free."""
    with _lock:
        if not _drawn:
            digits = os.urandom(12 * _PER_READ).hex()
            _drawn.extend(digits[n : n + 24] for n in range(0, len(digits), 24))
        return f"{prefix}_{_drawn.pop()}"


# A forked server process must never hand out the digits its parent drew.
os.register_at_fork(after_in_child=_drawn.clear)
