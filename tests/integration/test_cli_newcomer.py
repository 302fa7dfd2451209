"""The CLI in a newcomer's first hour: a missing or mistyped database, and the help screens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from creditflow.cli import app
from creditflow.engine import Engine
from creditflow.store.database import normalize_url
from tests.pg_server import PostgresServer, free_port

FORMS = ("sqlite:///FILE", "postgresql://user@host:port/db")

READING_COMMANDS = [
    ["check"],
    ["accounts", "show", "acc_nobody"],
    ["webhooks", "unmatched"],
    ["invoices", "export", "--from", "2026-01-01", "--to", "2026-01-31"],
    ["refunds", "queue"],
]
COMMANDS_WITH_DB = [*READING_COMMANDS, ["keys", "create", "--role", "admin"]]


@pytest.fixture(autouse=True)
def in_an_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CREDITFLOW_DATABASE_URL", raising=False)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def assert_refused_in_one_line(result: Result) -> str:
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("command", READING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_reading_command_names_a_missing_sqlite_file_and_makes_none(
    command: list[str], tmp_path: Path
) -> None:
    refused = assert_refused_in_one_line(run(*command, "--db", f"sqlite:///{tmp_path}/gone.db"))
    assert f"{tmp_path}/gone.db" in refused
    assert not (tmp_path / "gone.db").exists()


def test_check_without_db_names_the_default_file_and_does_not_make_it(tmp_path: Path) -> None:
    refused = assert_refused_in_one_line(run("check"))
    assert str(tmp_path / "creditflow.db") in refused
    assert list(tmp_path.iterdir()) == []


def test_keys_create_still_makes_a_new_database(tmp_path: Path) -> None:
    made = run("keys", "create", "--role", "admin", "--db", "new.db")
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("cf_admin_")
    assert (tmp_path / "new.db").is_file()


def test_a_bare_path_is_a_sqlite_file(tmp_path: Path) -> None:
    assert normalize_url("creditflow.db") == "sqlite:///creditflow.db"
    assert normalize_url("/srv/credits.db") == "sqlite:////srv/credits.db"
    Engine(database_url=f"sqlite:///{tmp_path / 'credits.db'}").close()
    checked = run("check", "--db", "credits.db")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("ok")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://user@host:port/db",
        "mysql://user@host/db",
        "postgresql+asyncpg://user@host/db",
        "sqlite:credits.db",
        "localhost:5432/db",
    ],
)
def test_a_malformed_or_unsupported_url_is_refused_in_one_line_showing_the_forms(
    url: str, tmp_path: Path
) -> None:
    refused = assert_refused_in_one_line(run("check", "--db", url))
    assert url in refused
    assert all(form in refused for form in FORMS)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_url_does_not_show_its_password() -> None:
    refused = assert_refused_in_one_line(run("check", "--db", "postgresql://ada:s3cret@h:x/db"))
    assert "s3cret" not in refused and "ada:***@h:x" in refused


@pytest.mark.parametrize("command", COMMANDS_WITH_DB, ids=lambda c: " ".join(c[:2]))
def test_an_unreachable_postgresql_is_one_line_naming_host_and_port(command: list[str]) -> None:
    port = free_port()  # nothing listens there
    refused = assert_refused_in_one_line(run(*command, "--db", f"postgresql://127.0.0.1:{port}/x"))
    assert f"127.0.0.1:{port}" in refused


@pytest.fixture
def server(postgres: PostgresServer | None) -> PostgresServer:
    if postgres is None:
        pytest.skip("no PostgreSQL server here")
    return postgres


@pytest.mark.parametrize("command", COMMANDS_WITH_DB, ids=lambda c: " ".join(c[:2]))
def test_a_missing_postgresql_database_is_named_and_not_made(
    server: PostgresServer, command: list[str]
) -> None:
    # keys create too: a PostgreSQL database is made by whoever runs the server, not by us.
    url = server.url_for("nobody_made_this")
    refused = assert_refused_in_one_line(run(*command, "--db", url))
    assert "'nobody_made_this'" in refused and f"127.0.0.1:{server.port}" in refused
    assert "createdb" in refused


def _every_command(group: typer.Typer) -> Iterator[list[str]]:
    yield []
    for command in group.registered_commands:
        assert command.callback is not None
        yield [command.name or command.callback.__name__.replace("_", "-")]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None and sub.name is not None
        for path in _every_command(sub.typer_instance):
            yield [sub.name, *path]


@pytest.mark.parametrize("command", list(_every_command(app)), ids=" ".join)
def test_help_shows_every_boolean_as_a_plain_flag(command: list[str]) -> None:
    shown = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
    if command == ["serve"]:
        (line,) = [line for line in shown.output.splitlines() if "--test-clock" in line]
        assert line.split()[:2] == ["--test-clock", "Run"]
