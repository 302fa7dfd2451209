"""Opaque public ids with a type prefix (`acc_…`, `grt_…`), as the API contract asks.

An id's first 11 hex digits are the milliseconds of the wall clock when it was made, the other
13 are random (52 bits). Ids made together sort together, so a new row's unique index entry
lands on the same few B-tree pages as its neighbours' instead of on a random page of a table of
millions: a year of renewals on 10,000 accounts ran 255 -> 203 s (benchmarks/clock.py), most of
it in smaller commits. Nothing reads meaning from an id: times come from rows' own columns (and
the test clock), and nothing secret is an id (tokens come from `secrets`).
"""

from __future__ import annotations

import os
import threading
import time

_PER_READ = 256
"""Ids' random digits drawn from the OS per read: a renewal makes a dozen ids, and a system
call for each was a twentieth of the due-work queue's time."""
_drawn: list[str] = []
_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """A prefix, the milliseconds now in 11 hex digits, and 13 random hex digits: unique (52
    random bits within a millisecond) and in rough creation order."""
    with _lock:
        if not _drawn:
            digits = os.urandom(7 * _PER_READ).hex()
            _drawn.extend(digits[n : n + 13] for n in range(0, len(digits), 14))
        random_part = _drawn.pop()
    return f"{prefix}_{time.time_ns() // 1_000_000:011x}{random_part}"


# A forked server process must never hand out the digits its parent drew.
os.register_at_fork(after_in_child=_drawn.clear)
