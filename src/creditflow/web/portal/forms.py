"""The portal's forms: the CSRF check first, then the page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from creditflow.web.layer import checked_form as check_session_form
from creditflow.web.layer import render
from creditflow.web.portal.session import CustomerSession


async def checked_form(request: Request, customer: CustomerSession) -> FormData:
    return await check_session_form(request, customer.csrf)


def show(
    request: Request, template: str, *, current: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(request, f"portal/{template}", status=status, current=current, **context)
