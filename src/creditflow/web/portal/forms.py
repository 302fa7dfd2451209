"""The portal's forms: the CSRF check first, then the page."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from creditflow.web.layer import check_csrf, render
from creditflow.web.portal.session import CustomerSession


async def checked_form(request: Request, customer: CustomerSession) -> FormData:
    """The posted form, once its CSRF token is the session's (403 otherwise, nothing done)."""
    form = await request.form()
    sent = form.get("csrf")
    check_csrf(customer.csrf, sent if isinstance(sent, str) else None)
    return form


def show(
    request: Request, template: str, *, current: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(request, f"portal/{template}", status=status, current=current, **context)
