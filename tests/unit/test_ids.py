"""Ids are unguessable and never repeat: not across threads, not in a forked server process."""

from __future__ import annotations

import os
import re
import threading

from creditflow.ids import new_id


def test_ids_carry_their_prefix_and_96_random_bits() -> None:
    ids = [new_id("acc") for _ in range(2000)]
    assert all(re.fullmatch(r"acc_[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_threads_drawing_at_once_never_get_the_same_id() -> None:
    drawn: list[list[str]] = [[] for _ in range(8)]

    def draw(n: int) -> None:
        drawn[n].extend(new_id("txn") for _ in range(3000))

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in drawn for i in ids]
    assert len(set(every)) == len(every) == 24000


def test_a_forked_process_draws_other_ids_than_its_parent() -> None:
    new_id("acc")  # the parent has digits drawn and waiting
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(read)
        os.write(write, "\n".join(new_id("acc") for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        in_child = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    in_parent = {new_id("acc") for _ in range(50)}
    assert len(in_child) == 50
    assert not in_child & in_parent
