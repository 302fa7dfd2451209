"""`creditflow staff create | list | disable`: the console's staff from the command line.

Run through Typer's CliRunner on SQLite and PostgreSQL; each sign-in checked afterwards goes
through the engine, as the console's sign-in page would.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from creditflow.cli import app
from creditflow.engine import Engine

PASSWORD = "correct horse battery"


def staff(url: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        app, ["staff", *args, "--db", url], input=stdin, env={"COLUMNS": "200"}
    )


def create(url: str, email: str, role: str = "support", *, stdin: str | None = PASSWORD) -> Result:
    """`staff create`, the password piped in with --password-stdin (made up when stdin=None)."""
    piped = ["--password-stdin"] if stdin is not None else []
    return staff(url, "create", email, "--role", role, *piped, stdin=stdin)


def signs_in(url: str, tmp_path: Path, email: str, password: str) -> bool:
    with Engine(database_url=url, data_dir=tmp_path / "data") as engine:
        token = engine.console.sign_in(email=email, password=password, address="127.0.0.1")
        return token is not None


def listed(url: str) -> list[list[str]]:
    result = staff(url, "list")
    assert result.exit_code == 0, result.output
    return [line.split("\t") for line in result.stdout.splitlines()]


def assert_nobody(url: str) -> None:
    assert staff(url, "list").stdout.startswith("no staff yet")


def test_create_reads_the_password_from_stdin_and_prints_no_secret(
    database_url: str, tmp_path: Path
) -> None:
    result = create(database_url, "agent@example.com", stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "created support agent@example.com"
    assert PASSWORD not in result.output
    assert signs_in(database_url, tmp_path, "agent@example.com", PASSWORD)
    assert not signs_in(database_url, tmp_path, "agent@example.com", PASSWORD + "\n")


def test_a_password_piped_from_windows_loses_its_line_end_but_keeps_its_spaces(
    database_url: str, tmp_path: Path
) -> None:
    spaced = "  two words, both kept  "
    result = create(database_url, "win@example.com", "admin", stdin=spaced + "\r\n")
    assert result.exit_code == 0, result.output
    assert signs_in(database_url, tmp_path, "win@example.com", spaced)
    assert not signs_in(database_url, tmp_path, "win@example.com", spaced.strip())


def test_create_without_stdin_makes_up_a_password_and_prints_it_once(
    database_url: str, tmp_path: Path
) -> None:
    result = create(database_url, "boss@example.com", "admin", stdin=None)
    assert result.exit_code == 0, result.output
    created, password_line = result.stdout.strip().splitlines()
    assert created == "created admin boss@example.com"
    assert password_line.startswith("password: ")
    password = password_line.removeprefix("password: ")
    assert len(password) >= 12
    assert signs_in(database_url, tmp_path, "boss@example.com", password)
    assert password not in staff(database_url, "list").output


def test_list_shows_email_role_and_status_and_never_the_hash(database_url: str) -> None:
    assert_nobody(database_url)
    assert create(database_url, "agent@example.com").exit_code == 0
    assert create(database_url, "boss@example.com", "admin").exit_code == 0
    result = staff(database_url, "list")
    assert listed(database_url) == [
        ["agent@example.com", "support", "active"],
        ["boss@example.com", "admin", "active"],
    ]
    assert "argon2" not in result.output and "$" not in result.output
    assert PASSWORD not in result.output


def test_disable_locks_a_member_out_and_the_list_says_so(database_url: str, tmp_path: Path) -> None:
    assert create(database_url, "agent@example.com").exit_code == 0
    assert create(database_url, "boss@example.com", "admin").exit_code == 0
    result = staff(database_url, "disable", "agent@example.com")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "disabled agent@example.com"
    assert listed(database_url) == [
        ["agent@example.com", "support", "disabled"],
        ["boss@example.com", "admin", "active"],
    ]
    assert not signs_in(database_url, tmp_path, "agent@example.com", PASSWORD)
    assert signs_in(database_url, tmp_path, "boss@example.com", PASSWORD)


def test_disabling_no_one_says_who_is_missing(database_url: str) -> None:
    result = staff(database_url, "disable", "nobody@example.com")
    assert result.exit_code != 0
    assert "nobody@example.com" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_role_is_refused_clearly_and_nothing_is_made(database_url: str) -> None:
    result = create(database_url, "agent@example.com", "owner")
    assert result.exit_code != 0
    assert result.stderr.strip() == "role must be one of support, admin."
    assert "Traceback" not in result.output and result.stdout == ""
    assert_nobody(database_url)


def test_a_short_password_or_a_bad_email_is_refused_and_nothing_is_made(
    database_url: str,
) -> None:
    for stdin in ("short\n", ""):
        refused = create(database_url, "agent@example.com", stdin=stdin)
        assert refused.exit_code != 0 and "at least 12 characters" in refused.stderr
    bad = create(database_url, "agent-at-example", stdin=None)
    assert bad.exit_code != 0 and "is not an email address" in bad.stderr
    assert "password:" not in bad.output  # no password printed for no one
    assert_nobody(database_url)


def test_a_duplicate_email_is_refused_clearly_whatever_its_case(database_url: str) -> None:
    first = create(database_url, "agent@example.com")
    assert first.exit_code == 0, first.output
    for email in ("agent@example.com", "Agent@Example.COM"):
        again = create(database_url, email, "admin")
        assert again.exit_code != 0
        assert "already a staff member" in again.stderr
        assert "Traceback" not in again.output
    assert listed(database_url) == [["agent@example.com", "support", "active"]]


def test_create_needs_a_role(database_url: str) -> None:
    result = staff(database_url, "create", "agent@example.com")
    assert result.exit_code == 2
    assert "--role" in result.stderr
    assert_nobody(database_url)
