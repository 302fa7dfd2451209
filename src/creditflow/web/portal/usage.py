"""The member's usage: credits spent per day by operation (a chart and its numbers), the ledger
with its filter, and the jobs with their outputs to download.

Every list is the session's account's, read through it; a job id in an address is looked up
and then checked against the session, so another account's job is a 404 like a missing one.
Downloads go through the engine, which records them: the refund rules ask whether a result was
taken.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.domain.kinds import EntryType
from creditflow.engine import Engine
from creditflow.services.usage import Spending
from creditflow.services.views import JobView, LedgerEntryView, Page
from creditflow.web import charts
from creditflow.web.portal.forms import show
from creditflow.web.portal.overview import KIND_NAMES
from creditflow.web.portal.session import CustomerSession, Member, engine_of, own

router = APIRouter()

PERIODS = (30, 90)
LEDGER_PAGE = 25
JOBS_PAGE = 10
DOWNLOAD_KEY = "portal"
"""The key id a download from the portal is recorded with (the API records the API key's)."""
OTHER = "Other"
"""Credits spent not by a job: the site's own `consume` calls."""
ENTRY_NAMES = {
    EntryType.GRANT: "Credits received",
    EntryType.CONSUME: "Credits spent",
    EntryType.HOLD: "Set aside for a job",
    EntryType.CAPTURE: "Job paid",
    EntryType.RELEASE: "Given back",
    EntryType.EXPIRE: "Expired",
    EntryType.REVOKE: "Taken back",
}
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+( *; *[\w.+-]+=[\w.+-]+)*", re.ASCII)
_OUTPUT_NUMBER = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    values: Mapping[date, int]


def operation_name(code: str) -> str:
    return code.replace("_", " ").capitalize()


def job_columns(spent: Spending) -> list[Column]:
    """The operations, most credits first."""
    ranked = sorted(spent.by_operation.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    return [Column(operation_name(code), values) for code, values in ranked]


def columns(spent: Spending) -> list[Column]:
    """The table's columns: the operations, then what was not a job."""
    jobs = job_columns(spent)
    return [*jobs, Column(OTHER, spent.other)] if spent.other else jobs


def chart(spent: Spending) -> Markup:
    """The stacked bars; operations beyond the palette's colours are drawn as one."""
    jobs = job_columns(spent)
    room = len(charts.PALETTE) - (1 if spent.other else 0)
    if len(jobs) > room:
        rest: dict[date, int] = {}
        for column in jobs[room - 1 :]:
            for day, credits in column.values.items():
                rest[day] = rest.get(day, 0) + credits
        jobs = [*jobs[: room - 1], Column("Other operations", rest)]
    drawn = [*jobs, Column(OTHER, spent.other)] if spent.other else jobs
    return charts.daily_bars(
        f"Credits spent per day over the last {len(spent.days)} days, by operation",
        spent.days,
        [charts.Series(column.name, column.values) for column in drawn],
    )


def file_size(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.0f} kB"
    return f"{count / 1_000_000:.1f} MB"


def _period(raw: str | None) -> int:
    if raw is None or raw == "":
        return PERIODS[0]
    if raw.strip() not in {str(days) for days in PERIODS}:
        raise InvalidRequest("Choose the last 30 or the last 90 days.", field="days")
    return int(raw)


def _address(**params: str | int | None) -> str:
    kept = {name: value for name, value in params.items() if value not in (None, "")}
    return f"/portal/usage?{urlencode(kept)}" if kept else "/portal/usage"


def _listed(
    errors: dict[str, str],
    field: str,
    read: Callable[..., Page[Any]],
    **filters: str | None,
) -> Page[Any]:
    """A page of a list; a filter or cursor it refuses is shown beside its field and the list
    shown from the start, unfiltered."""
    try:
        return read(**filters)
    except InvalidRequest as refused:
        named = str(refused.details.get("field") or "")
        errors[field if named == "cursor" else named or field] = refused.message
        return read()


def _usage_page(
    request: Request, customer: CustomerSession, days_raw: str | None, query: dict[str, str]
) -> Response:
    engine = engine_of(request)
    account_id = customer.account.id
    errors: dict[str, str] = {}
    try:
        days = _period(days_raw)
    except InvalidRequest as refused:
        errors["days"], days = refused.message, PERIODS[0]
    spent = _spending(engine, account_id, days)
    ledger: Page[LedgerEntryView] = _listed(
        errors,
        "ledger",
        lambda **f: engine.ledger(account_id, limit=LEDGER_PAGE, **f),
        type=query.get("type") or None,
        cursor=query.get("cursor") or None,
    )
    jobs: Page[JobView] = _listed(
        errors,
        "jobs",
        lambda **f: engine.jobs(account_id, limit=JOBS_PAGE, **f),
        cursor=query.get("jobs") or None,
    )
    # What the links keep: the period and the lists where they are, less what was refused.
    state: dict[str, str | int | None] = {"days": days, **query}
    if "type" in errors or "ledger" in errors:
        state.update(type=None, cursor=None)
    if "jobs" in errors:
        state.update(jobs=None)

    def here(**changed: str | int | None) -> str:
        return _address(**{**state, **changed})

    busiest = max(spent.days, key=lambda day: (spent.on(day), day))
    return show(
        request,
        "usage.html",
        current="usage",
        status=422 if errors else 200,
        errors=errors,
        days=days,
        periods=[(n, here(days=n)) for n in PERIODS],
        spent=spent,
        shown=columns(spent),
        chart=chart(spent) if spent.total else None,
        busiest=busiest if spent.on(busiest) else None,
        ledger=ledger,
        entry_type=state.get("type") or "",
        entry_types=[("", "All entries"), *((t.value, ENTRY_NAMES[t]) for t in EntryType)],
        entry_names={t.value: ENTRY_NAMES[t] for t in EntryType},
        operation_name=operation_name,
        kind_names=KIND_NAMES,
        stamp=lambda at: at.astimezone(engine.catalog.site.zone).strftime("%-d %b %Y, %H:%M"),
        size=file_size,
        ledger_older=here(cursor=ledger.next_cursor) + "#ledger" if ledger.next_cursor else None,
        ledger_newest=here(cursor=None) + "#ledger" if state.get("cursor") else None,
        jobs=jobs,
        jobs_older=here(jobs=jobs.next_cursor) + "#jobs" if jobs.next_cursor else None,
        jobs_newest=here(jobs=None) + "#jobs" if state.get("jobs") else None,
    )


def _spending(engine: Engine, account_id: str, days: int) -> Spending:
    return engine.portal.spending(account_id, days=days)


@router.get("/usage")
async def usage(request: Request, customer: Member, days: str | None = None) -> Response:
    query = {k: v for k, v in request.query_params.items() if k in ("type", "cursor", "jobs")}
    return await run_in_threadpool(_usage_page, request, customer, days, query)


@router.get("/jobs/{job_id}/outputs/{n}")
async def download_output(request: Request, customer: Member, job_id: str, n: str) -> Response:
    engine = engine_of(request)

    def fetch() -> tuple[str, str, bytes]:
        job = own(customer, "job", engine.job, job_id)
        if not _OUTPUT_NUMBER.fullmatch(n):
            raise NotFound(f"Job {job.id} has no output {n!r}.")
        output, data = engine.download_output(job.id, int(n), key_id=DOWNLOAD_KEY)
        return output.content_type, output.name, data

    content_type, name, data = await run_in_threadpool(fetch)
    return Response(
        data,
        media_type=content_type
        if _CONTENT_TYPE.fullmatch(content_type)
        else "application/octet-stream",
        headers={
            "Content-Disposition": _attachment(name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            # Opened in a tab anyway (a browser may ignore the attachment): no script runs.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _attachment(name: str) -> str:
    """A worker's file name, safe in a header: plain for old browsers, UTF-8 for the rest."""
    plain = "".join(c for c in name if c.isascii() and (c.isalnum() or c in "._-"))[:100]
    encoded = quote(name[:200], safe="")
    return f"attachment; filename=\"{plain or 'output'}\"; filename*=UTF-8''{encoded}"
