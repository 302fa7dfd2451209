"""The dashboard: what came in and went out over the last weeks, and what waits for support."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from creditflow.services.dashboard import Dashboard
from creditflow.web import charts
from creditflow.web.console.forms import show
from creditflow.web.console.session import Agent, engine_of
from creditflow.web.layer import money

router = APIRouter()


@router.get("")
async def dashboard_page(
    request: Request, agent: Agent, days: int = Query(30, ge=7, le=92)
) -> Response:
    figures = await run_in_threadpool(engine_of(request).console.dashboard, days=days)
    drawn = {
        "granted": any(any(v.values()) for v in figures.granted.values()),
        "spent": any(any(v.values()) for v in figures.spent.values()),
        "revenue": any(figures.revenue.values()),
        "refunded": any(figures.refunded.values()),
    }
    return show(
        request,
        "dashboard.html",
        current="dashboard",
        d=figures,
        charts=_charts(figures),
        charts_drawn=drawn,
    )


def _charts(d: Dashboard) -> dict[str, Markup]:
    def as_money(amount: int) -> str:
        return money({"amount": amount, "currency": d.currency})

    return {
        "granted": charts.daily_bars(
            "Credits granted per day, by kind",
            d.days,
            [charts.Series(kind, values) for kind, values in sorted(d.granted.items())],
        ),
        "spent": charts.daily_bars(
            "Credits spent per day, by kind",
            d.days,
            [charts.Series(kind, values) for kind, values in sorted(d.spent.items())],
        ),
        "revenue": charts.daily_bars(
            "Revenue per day", d.days, [charts.Series("revenue", d.revenue)], label=as_money
        ),
        "refunded": charts.daily_bars(
            "Refunds per day", d.days, [charts.Series("refunds", d.refunded)], label=as_money
        ),
        "ages": charts.bars("Open refund requests by age", d.open_by_age),
        "outcomes": charts.bars(
            "Decisions by the rule that made the recommendation",
            [(f"{rule} → {outcome.replace('_', ' ')}", n) for rule, outcome, n in d.outcomes],
        ),
    }
