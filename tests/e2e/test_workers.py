"""`creditflow serve --workers N` (issue 13): several processes on one database."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.server import Server, creditflow_command
from tests.e2e.test_service import _account_with, _check

StartServer = Callable[..., Server]
CLIENTS = 8
SPENDS = 40


def worker_processes(server: Server) -> list[int]:
    """The server's child processes that are uvicorn workers (not multiprocessing's helper)."""
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = []
    for child in children:
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"resource_tracker" not in command:
            workers.append(int(child))
    return workers


def test_two_worker_processes_share_one_ledger_without_overspending(
    start_server: StartServer, database_url: str
) -> None:
    server = start_server(database_url, "--workers", "2")
    deadline = time.monotonic() + 30
    while len(worker_processes(server)) < 2:
        assert time.monotonic() < deadline, worker_processes(server)
        time.sleep(0.1)
    with server.client() as client:
        account_id = _account_with(client, 200)
    outcomes: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS)

    def spend() -> None:
        # A connection each: uvicorn's processes take connections in turn from one socket.
        with server.client() as client:
            barrier.wait()
            for _ in range(SPENDS):
                status = client.post(
                    f"/v1/accounts/{account_id}/consume", json={"credits": 1}
                ).status_code
                with lock:
                    outcomes.append(status)

    threads = [threading.Thread(target=spend) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count(200) == 200
    assert outcomes.count(402) == CLIENTS * SPENDS - 200
    with server.client() as client:
        balance = client.get(f"/v1/accounts/{account_id}/balance").json()
    assert balance["available"] == 0
    server.stop()
    checked = _check(database_url)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_workers_refuse_a_test_clock(tmp_path: Path) -> None:
    refused = subprocess.run(
        creditflow_command(
            "serve", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--test-clock", "--workers", "2"
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    assert "--workers needs the system clock" in refused.stderr
    assert not (tmp_path / "w.db").exists()
