"""Provider webhooks: no API key, the provider's signature over the raw body instead.

The view only hands the raw bytes and headers over: verification lives in the adapter, the
effect in the service layer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from creditflow.api.idempotency import answer
from creditflow.api.openapi import problems
from creditflow.api.routes.accounts import engine_of
from creditflow.services.views import WebhookOutcomeView

router = APIRouter(prefix="/v1")


@router.post(
    "/webhooks/{provider}",
    summary="Receive a provider's webhook",
    response_model=WebhookOutcomeView,
    responses=problems({400: ["invalid_signature"]}),
)
async def receive_webhook(request: Request, provider: str) -> Response:
    """Stripe, Paddle or Creem: the signature is checked against the raw body, then each event is
    applied once, in whatever order events arrive."""
    body = await request.body()
    engine = engine_of(request)
    outcome = await run_in_threadpool(
        lambda: engine.receive_webhook(provider, headers=dict(request.headers), body=body)
    )
    return answer(outcome, status=200)
