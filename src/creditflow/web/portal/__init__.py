"""The customer portal at /portal: what a member sees and does, opened with a one-time link."""

from __future__ import annotations

from fastapi import APIRouter

from creditflow.web.portal import billing, overview, plan, refunds, sign_in, usage

router = APIRouter(include_in_schema=False)
for pages in (sign_in, overview, usage, plan, billing, refunds):
    router.include_router(pages.router, prefix="/portal")
