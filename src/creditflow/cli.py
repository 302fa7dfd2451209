"""The `creditflow` command: serve, check, keys, staff, catalog, accounts."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from creditflow.clock import Clock, SystemClock, TestClock
from creditflow.domain.errors import CatalogError, CreditflowError
from creditflow.settings import Settings
from creditflow.store.database import check_database

if TYPE_CHECKING:
    from creditflow.engine import Engine


def _commands(help: str) -> typer.Typer:
    # Plain help, not Rich: the installed Typer's Rich panels print `<bool>` beside every flag
    # (`--test-clock <bool>`, even `--help <bool>`), as if it took a value.
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


app = _commands("creditflow: credits and subscriptions for AI image sites.")
keys_app = _commands("API keys.")
staff_app = _commands("Staff of the support console (/console).")
catalog_app = _commands("Catalog files.")
accounts_app = _commands("Accounts, for people.")
webhooks_app = _commands("Provider webhooks.")
invoices_app = _commands("Invoices and credit notes.")
refunds_app = _commands("Refund requests.")
app.add_typer(keys_app, name="keys")
app.add_typer(staff_app, name="staff")
app.add_typer(catalog_app, name="catalog")
app.add_typer(accounts_app, name="accounts")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(invoices_app, name="invoices")
app.add_typer(refunds_app, name="refunds")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="A SQLite file, or a URL: sqlite:///FILE or postgresql://user@host:port/db "
        "(default: CREDITFLOW_DATABASE_URL or ./creditflow.db).",
    ),
]
CatalogOption = Annotated[
    str | None,
    typer.Option("--catalog", help="Catalog TOML (default: CREDITFLOW_CATALOG or the built-in)."),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


@contextmanager
def _refusals() -> Iterator[None]:
    """Errors a person can fix (a flag, a catalog, a database) as one line on stderr, exit 2."""
    try:
        yield
    except CreditflowError as error:  # CatalogError, DatabaseUnavailable, InvalidRequest
        raise _fail(error.message) from None
    except ValueError as error:
        raise _fail(f"creditflow: {error}") from None


@app.command()
def serve(
    catalog: CatalogOption = None,
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    test_clock: Annotated[
        bool, typer.Option("--test-clock", help="Run on a clock that moves only when told.")
    ] = False,
    sqlite_synchronous: Annotated[
        str | None,
        typer.Option(
            help="SQLite durability: FULL (default) or NORMAL, which may lose the last "
            "commits on a power cut."
        ),
    ] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(
            help="Folder for job images and outputs (default: CREDITFLOW_DATA_DIR or ./data)."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes on the one database (default 1). Each has its own writer; "
            "due work, provider calls and webhooks are claimed in the database, never twice.",
        ),
    ] = 1,
) -> None:
    """Run the HTTP service."""
    import uvicorn

    from creditflow.api.app import create_app

    with _refusals():
        settings = Settings.load(
            os.environ,
            db=db,
            catalog=catalog,
            test_clock=test_clock,
            sqlite_synchronous=sqlite_synchronous,
            data_dir=data_dir,
        )
    if workers > 1 and settings.test_clock:
        raise _fail(
            "--workers needs the system clock: each process would keep a test clock of its own. "
            "Run one process with --test-clock."
        )
    clock = (
        TestClock(settings.test_clock_start or SystemClock().now())
        if settings.test_clock
        else SystemClock()
    )
    engine = _open_engine(settings, clock=clock, creates=True)
    if settings.admin_key is None and not engine.has_api_keys():
        make_one = "creditflow keys create --role admin" + (
            f" --db {shlex.quote(db)}" if db else ""
        )
        typer.echo(
            f"No API key can sign in yet: run `{make_one}` and send the key it prints as "
            "`Authorization: Bearer KEY`, or set CREDITFLOW_ADMIN_KEY before starting.",
            err=True,
        )
    typer.echo(
        f"creditflow serving {engine.catalog.site.name!r} on http://{host}:{port} "
        f"({engine.db.dialect.name}{', test clock' if settings.test_clock else ''}"
        f"{f', {workers} processes' if workers > 1 else ''})",
        err=True,
    )
    if workers > 1:
        from creditflow.api.workers import WORKER_APP, environment_for_workers

        engine.close()  # checked and migrated: each worker opens its own
        os.environ.update(environment_for_workers(settings))
        uvicorn.run(
            WORKER_APP,
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
        )
        return
    application = create_app(
        engine, admin_key=settings.admin_key, due_work_interval=settings.due_work_interval
    )
    uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def worker(
    url: Annotated[str, typer.Option(help="The creditflow service.")] = "http://127.0.0.1:8000",
    key: Annotated[
        str | None,
        typer.Option(help="A worker key (default: CREDITFLOW_WORKER_KEY).", show_default=False),
    ] = None,
    operations: Annotated[
        str | None, typer.Option(help="Comma-separated operations to take (default: all).")
    ] = None,
    poll_interval: Annotated[float, typer.Option(help="Seconds between polls when idle.")] = 1.0,
    max_jobs: Annotated[
        int | None, typer.Option(help="Stop after this many jobs (default: run until stopped).")
    ] = None,
) -> None:
    """Claim jobs from a creditflow service and run them with the built-in processors."""
    from creditflow.jobs.worker import Worker

    secret = key or os.environ.get("CREDITFLOW_WORKER_KEY")
    if not secret:
        raise _fail("Give a worker key: --key, or CREDITFLOW_WORKER_KEY.")
    names = [name.strip() for name in operations.split(",") if name.strip()] if operations else None
    typer.echo(
        f"creditflow worker polling {url} for {', '.join(names or ['every operation'])}", err=True
    )
    try:
        done = Worker(url, secret, operations=names, poll_interval=poll_interval).run(
            max_jobs=max_jobs
        )
    except KeyboardInterrupt:
        return
    typer.echo(f"{done} job(s) done", err=True)


@app.command()
def check(db: DbOption = None) -> None:
    """Verify the ledger's invariants over a whole database; exit 1 naming each violation."""

    engine = _engine(db)
    violations = engine.check()
    engine.close()
    if violations:
        for violation in violations:
            typer.echo(f"violation: {violation}", err=True)
        raise typer.Exit(1)
    typer.echo("ok: the ledger sums to zero and every cached balance matches its entries")


@keys_app.command("create")
def create_key(
    role: Annotated[str, typer.Option(help="admin, service, support or worker.")],
    label: Annotated[str | None, typer.Option(help="A note on who holds the key.")] = None,
    db: DbOption = None,
) -> None:
    """Print a new API key; only its hash is stored, so keep it now."""
    engine = _engine(db, creates=True)
    try:
        with _refusals():
            key = engine.create_api_key(role=role, label=label)
    finally:
        engine.close()
    typer.echo(key.secret)


@staff_app.command("create")
def create_staff(
    email: Annotated[str, typer.Argument(help="Their email: what they sign in with.")],
    role: Annotated[
        str, typer.Option(help="support (refunds, credits, disputes) or admin (also staff, keys).")
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Make a staff member; without --password-stdin a password is made up and printed."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    engine = _engine(db, creates=True)
    try:
        with _refusals():
            member, secret = engine.create_staff(email, role=role, password=password)
    finally:
        engine.close()
    typer.echo(f"created {member.role} {member.email}")
    if password is None:
        typer.echo(f"password: {secret}")


@staff_app.command("list")
def list_staff(db: DbOption = None) -> None:
    """Every staff member: email, role, active or disabled."""
    engine = _engine(db)
    try:
        members = engine.staff()
    finally:
        engine.close()
    if not members:
        typer.echo("no staff yet: creditflow staff create EMAIL --role admin")
    for member in members:
        typer.echo(f"{member.email}\t{member.role}\t{member.status}")


@staff_app.command("disable")
def disable_staff(
    email: Annotated[str, typer.Argument(help="The staff member's email.")],
    db: DbOption = None,
) -> None:
    """Stop a staff member signing in; their open sessions end now."""
    engine = _engine(db)
    try:
        with _refusals():
            member = engine.disable_staff(email)
    finally:
        engine.close()
    typer.echo(f"disabled {member.email}")


@catalog_app.command("validate")
def validate_catalog(
    path: Annotated[str, typer.Argument(help="The catalog TOML to check.")],
) -> None:
    """Load a catalog as the service would, and say what is wrong with it."""
    from creditflow.catalog_file import load_catalog

    try:
        catalog = load_catalog(path)
    except CatalogError as error:
        raise _fail(error.message) from None
    typer.echo(f"ok: {catalog.site.name} ({len(catalog.plans)} plans, {len(catalog.packs)} packs)")


@accounts_app.command("show")
def show_account(
    account: Annotated[str, typer.Argument(help="The account's id (acc_…) or external id.")],
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Balance by kind, grants with expiry, subscriptions and entitlements of one account."""
    from creditflow.cli_accounts import find_account, print_account

    engine = _engine(db, catalog)
    saved = engine.saved_test_clock()
    if saved is not None:  # a database run on the test clock is shown at its clock's time
        engine.close()
        engine = _engine(db, catalog, clock=TestClock(saved))
    try:
        found = find_account(engine, account)
        if found is None:
            raise _fail(f"No account with id or external id {account!r}.", code=1)
        print_account(engine, found)
    finally:
        engine.close()


@webhooks_app.command("unmatched")
def unmatched_webhooks(
    provider: Annotated[str | None, typer.Option(help="Only this provider's events.")] = None,
    db: DbOption = None,
) -> None:
    """Events that named no order or customer of ours: recorded, answered 200, listed here."""
    from creditflow.services.webhooks import webhook_summary

    engine = _engine(db)
    try:
        events = engine.unmatched_webhooks(provider)
    finally:
        engine.close()
    for event in events:
        typer.echo(webhook_summary(event))
    typer.echo(f"{len(events)} unmatched event(s)", err=True)


@invoices_app.command("export")
def export_invoices(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC), included.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
    out: Annotated[str | None, typer.Option(help="CSV file to write (default: stdout).")] = None,
    db: DbOption = None,
    catalog: CatalogOption = None,
) -> None:
    """Invoices and credit notes issued in a date range, as CSV for an accountant."""
    from datetime import UTC, date, datetime, time, timedelta

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise _fail("--from and --to take dates such as 2026-01-31.") from None
    if last < first:
        raise _fail("--to is before --from.")
    since = datetime.combine(first, time(0), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    engine = _engine(db, catalog)
    try:
        if out is None:
            count = engine.export_documents(since, until, sys.stdout)
        else:
            with open(out, "w", newline="", encoding="utf-8") as file:
                count = engine.export_documents(since, until, file)
    finally:
        engine.close()
    typer.echo(f"{count} document(s) from {first} to {last}", err=True)


@refunds_app.command("queue")
def refund_queue(db: DbOption = None, catalog: CatalogOption = None) -> None:
    """Open refund requests, the oldest due first, with what the policy recommends."""
    from rich.console import Console
    from rich.table import Table

    engine = _engine(db, catalog)
    try:
        queue = engine.refund_queue()
    finally:
        engine.close()
    table = Table(title=f"{len(queue)} open refund request(s)", title_justify="left")
    for column in ("request", "order", "reason", "due by", "overdue", "recommended", "amount"):
        table.add_column(column)
    for request in queue:
        recommended = request.recommendation
        table.add_row(
            request.id,
            request.order_id,
            request.reason,
            request.due_by.strftime("%Y-%m-%d %H:%M UTC"),
            "yes" if request.overdue else "",
            recommended.outcome,
            "" if recommended.amount is None else str(recommended.amount),
        )
    Console().print(table)


def _engine(
    db: str | None,
    catalog: str | None = None,
    *,
    clock: Clock | None = None,
    creates: bool = False,
) -> Engine:
    """The engine on the database the flags name; only commands that make one pass `creates`."""
    with _refusals():
        settings = Settings.load(os.environ, db=db, catalog=catalog)
    return _open_engine(settings, clock=clock, creates=creates)


def _open_engine(settings: Settings, *, clock: Clock | None, creates: bool) -> Engine:
    from creditflow.engine import Engine

    with _refusals():
        # Before the engine: it would make a missing SQLite file, or fail in the driver.
        check_database(settings.database_url, create=creates)
        return Engine(
            database_url=settings.database_url,
            catalog=settings.catalog_path,
            clock=clock,
            sqlite_synchronous=settings.sqlite_synchronous,
            data_dir=settings.data_dir,
        )


def main() -> None:  # pragma: no cover
    app(prog_name="creditflow")
    sys.exit(0)
