"""The FastAPI application, assembled over an engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from creditflow.api.auth import KeyRing
from creditflow.api.errors import install_error_handlers
from creditflow.api.hot_path import HotPath, hot_routes
from creditflow.api.middleware import MAX_JSON_BODY, BodySizeLimit, RequestMetrics
from creditflow.api.openapi import install_openapi
from creditflow.api.routes import (
    accounts,
    billing,
    credits,
    events,
    holds,
    jobs,
    memberships,
    portal,
    refunds,
    test_clock,
    webhooks,
)
from creditflow.engine import Engine
from creditflow.scheduler import Repeating, due_work_loop, mail_loop, webhook_loop
from creditflow.web import install_pages
from creditflow.web.portal.refunds import MAX_TOTAL_BYTES as PORTAL_EVIDENCE_BYTES

API_DESCRIPTION = (
    "The credits-and-subscriptions engine of an AI image site: a double-entry credit ledger, "
    "holds for jobs in flight, plans, orders, refunds and disputes, and the events of it all. "
    'Every POST takes an `Idempotency-Key`; errors are `{"error": {"code", "message", '
    '"details"}}` with a stable code.'
)
MAX_JOB_OUTPUTS_BODY = 64 * 1024 * 1024


class Health(BaseModel):
    status: str


"""Base64 outputs of a finished job (a 4x upscale of a large image is tens of MiB)."""


def body_limits(engine: Engine) -> Callable[[str], int]:
    """JSON bodies stay small; a job's upload may carry the largest image the catalog takes."""
    images = engine.catalog.images
    upload = (images.max_bytes if images else 0) + MAX_JSON_BODY

    def limit_for(path: str) -> int:
        if path.startswith("/v1/accounts/") and path.endswith("/jobs"):
            return upload
        if path == "/v1/evidence-files":
            return 10 * 1024 * 1024 + MAX_JSON_BODY
        if path == "/portal/refunds":  # the portal's refund form carries its evidence files
            return PORTAL_EVIDENCE_BYTES + MAX_JSON_BODY
        if path.startswith("/v1/jobs/") and path.endswith("/complete"):
            return MAX_JOB_OUTPUTS_BODY
        return MAX_JSON_BODY

    return limit_for


def create_app(
    engine: Engine,
    *,
    admin_key: str | None = None,
    due_work_interval: float | None = 1.0,
    mail_interval: float | None = 2.0,
    webhook_interval: float | None = 1.0,
) -> FastAPI:
    """An interval of None runs no such background loop (tests run their own); the due-work
    loop never runs on a test clock, which moves only when told."""
    repeating: list[Repeating] = []
    if due_work_interval is not None and engine.test_clock is None:
        repeating.append(due_work_loop(engine, interval=due_work_interval))
    if mail_interval is not None:
        repeating.append(mail_loop(engine, interval=mail_interval))
    if webhook_interval is not None:
        repeating.append(webhook_loop(engine, interval=webhook_interval))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for background in repeating:
            background.start()
        try:
            yield
        finally:
            for background in repeating:
                background.stop()

    app = FastAPI(
        title="creditflow",
        version="1",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_openapi(app)
    app.state.engine = engine
    app.state.keys = KeyRing(engine, admin_key)
    install_error_handlers(app)
    app.include_router(accounts.router)
    app.include_router(credits.router)
    app.include_router(holds.router)
    app.include_router(billing.router)
    app.include_router(memberships.router)
    app.include_router(jobs.router)
    app.include_router(webhooks.router)
    app.include_router(refunds.router)
    app.include_router(events.router)
    app.include_router(portal.router)
    if engine.test_clock is not None:
        app.include_router(test_clock.router)
    install_pages(app)

    @app.get("/healthz", summary="Is the service up", response_model=Health)
    def healthz() -> JSONResponse:
        """200 while the service answers; for load balancers and orchestrators."""
        return JSONResponse({"status": "ok"})

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text."}},
    )
    def metrics() -> Response:
        """Requests, latencies, and credits granted and spent by kind, as Prometheus text."""
        return Response(engine.metrics.exposition(), media_type="text/plain; version=0.0.4")

    app.add_middleware(HotPath, routes=hot_routes(app), fastapi=app)  # inside the two below
    app.add_middleware(BodySizeLimit, limit_for=body_limits(engine))
    app.add_middleware(RequestMetrics, metrics=engine.metrics)
    return app
