"""Ids never repeat (not across threads, not in a forked server process), and ids made later
sort later, which keeps the unique indexes of tables of millions of rows cheap to insert into."""

from __future__ import annotations

import os
import re
import threading
import time

from creditflow.ids import new_id


def test_ids_carry_their_prefix_the_time_and_52_random_bits() -> None:
    ids = [new_id("acc") for _ in range(2000)]
    assert all(re.fullmatch(r"acc_[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    # Within one millisecond the order is random; the random parts are not all alike.
    assert len({i[-13:] for i in ids}) == len(ids)


def test_an_id_made_later_sorts_after_one_made_earlier() -> None:
    first = new_id("evt")
    time.sleep(0.002)
    assert new_id("evt") > first
    assert abs(int(first[4:15], 16) - time.time_ns() // 1_000_000) < 60_000


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
