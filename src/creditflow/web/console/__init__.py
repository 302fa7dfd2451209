"""The support console at /console: pages for staff, rendered on the server."""

from __future__ import annotations

from fastapi import APIRouter

from creditflow.web.console import accounts, admin, disputes, home, refunds, sign_in

router = APIRouter(include_in_schema=False)
for pages in (sign_in, home, refunds, accounts, disputes, admin):
    router.include_router(pages.router, prefix="/console")
