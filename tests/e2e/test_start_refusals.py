"""`creditflow serve` refuses a configuration it cannot honour, before it takes any request."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.server import Server, creditflow_command
from tests.pg_server import free_port

StartServer = Callable[..., Server]


def serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        creditflow_command("serve", "--db", f"sqlite:///{tmp_path}/x.db", "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    "url", ["ftp://mail.example", "smtp://", "smtp://host:port", "smtp://h:25?starttls=maybe"]
)
def test_a_malformed_smtp_url_is_refused_at_start(tmp_path: Path, url: str) -> None:
    result = serve(tmp_path, CREDITFLOW_SMTP_URL=url)
    assert result.returncode != 0
    assert "CREDITFLOW_SMTP_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_provider_name_is_refused_at_start(tmp_path: Path) -> None:
    result = serve(tmp_path, CREDITFLOW_PROVIDERS="test,paypal")
    assert result.returncode != 0
    assert "paypal" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_postgresql_is_refused_in_one_line_naming_host_and_port(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens there
    result = subprocess.run(
        creditflow_command("serve", "--db", f"postgresql://127.0.0.1:{port}/x", "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Cannot connect to PostgreSQL at 127.0.0.1:{port}: Connection refused."
    ]


def test_a_malformed_database_url_is_refused_at_start_showing_the_forms(tmp_path: Path) -> None:
    result = subprocess.run(
        creditflow_command("serve", "--db", "localhost:5432/credits", "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert "'localhost:5432/credits'" in line
    assert "sqlite:///FILE" in line and "postgresql://user@host:port/db" in line


def _stderr_of_a_started_server(start: StartServer, database: str, **env: str) -> str:
    server = start(database, **env)  # waits until /healthz answers
    server.process.terminate()
    server.process.wait(timeout=30)
    assert server.process.stderr is not None
    return server.process.stderr.read().decode()


def test_serve_without_any_key_says_how_to_make_one_and_still_starts(
    start_server: StartServer, tmp_path: Path
) -> None:
    stderr = _stderr_of_a_started_server(start_server, "fresh.db", CREDITFLOW_ADMIN_KEY="")
    assert stderr.count("creditflow keys create --role admin --db fresh.db") == 1, stderr
    assert stderr.count("CREDITFLOW_ADMIN_KEY") == 1
    assert (tmp_path / "fresh.db").is_file()  # a bare path is a SQLite file


def test_serve_with_an_admin_key_or_a_stored_key_says_nothing_about_keys(
    start_server: StartServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'keyed.db'}"
    assert "keys create" not in _stderr_of_a_started_server(start_server, url)
    subprocess.run(
        creditflow_command("keys", "create", "--role", "service", "--db", url),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert "keys create" not in _stderr_of_a_started_server(
        start_server, url, CREDITFLOW_ADMIN_KEY=""
    )
