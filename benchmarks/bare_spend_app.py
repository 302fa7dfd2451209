"""The raw baseline of benchmarks/serve.py: the spend's SQL in a plain FastAPI sync endpoint.

Served by the same uvicorn as `creditflow serve`:  uvicorn bare_spend_app:app
with BARE_SPEND_DB naming a database that benchmarks/serve.py prepared (one account, one grant).
Each of the server's worker threads keeps its own sqlite3 connection; the statements are those
of benchmarks/ledger.py's raw loop, one durable transaction per spend.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from fastapi import FastAPI
from fastapi.responses import Response

app = FastAPI()
_local = threading.local()
ENTRY = (
    "INSERT INTO entries (transaction_id, account_id, type, grant_id, kind, debit_account, "
    "credit_account, amount, available_delta, held_delta, available_after, held_after, at) "
    "VALUES (lower(hex(randomblob(12))), ?, 'consume', ?, 'purchased', 'grant', 'spent', 1, -1, "
    "0, ?, 0, '2026-11-22 00:00:00.000000')"
)


def _connection() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(os.environ["BARE_SPEND_DB"], isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=60000")
        _local.connection = connection
    return connection


@app.post("/spend/{account}/{grant}")
def spend(account: str, grant: str) -> Response:
    connection = _connection()
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("SELECT * FROM accounts WHERE id = ?", (account,)).fetchone()
    connection.execute(
        "SELECT * FROM grants WHERE account_id = ? AND (remaining > 0 OR held > 0)", (account,)
    ).fetchall()
    connection.execute(
        "UPDATE grants SET remaining = remaining - 1 WHERE id = ? AND remaining - 1 >= 0", (grant,)
    )
    after = connection.execute(
        "UPDATE accounts SET available = available - 1 WHERE id = ? RETURNING available",
        (account,),
    ).fetchone()
    connection.execute(ENTRY, (account, grant, after[0]))
    connection.execute("COMMIT")
    return Response(f'{{"available":{after[0]}}}', media_type="application/json")
