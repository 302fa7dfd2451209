"""Reading the console's forms: the CSRF check first, then each field (creditflow.web.fields)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from creditflow.web.console.session import StaffSession
from creditflow.web.fields import major_units, money_amount, problems, text, whole_number
from creditflow.web.layer import checked_form as check_session_form
from creditflow.web.layer import render

__all__ = [
    "checked_form",
    "major_units",
    "money_amount",
    "problems",
    "show",
    "text",
    "whole_number",
]


async def checked_form(request: Request, agent: StaffSession) -> FormData:
    return await check_session_form(request, agent.csrf)


def show(
    request: Request, template: str, *, current: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(request, f"console/{template}", status=status, current=current, **context)
