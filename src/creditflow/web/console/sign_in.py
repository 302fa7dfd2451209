"""Signing in and out of the console.

The sign-in form is the one form shown before there is a session, so its CSRF token is matched
against a cookie of its own. Failures are counted per email and per address (services.staff):
after five in fifteen minutes sign-in is refused for a while, whatever the password.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from creditflow.services.staff import TooManyAttempts
from creditflow.web.console.forms import checked_form, show, text
from creditflow.web.console.session import CONSOLE, Agent, engine_of
from creditflow.web.layer import (
    check_form_token,
    clear_cookie,
    form_token,
    keep_form_token,
    redirect,
    set_cookie,
)

router = APIRouter()


def _next(target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return "/console"


def _form(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    target: str = "",
    signed_out: bool = False,
) -> Response:
    token = form_token(request)
    page = show(
        request,
        "login.html",
        current="login",
        status=status,
        csrf=token,
        error=error,
        email=email,
        next=target,
        signed_out=signed_out,
    )
    keep_form_token(request, page, token, CONSOLE)
    return page


@router.get("/login")
async def sign_in_form(request: Request, next: str = "", signed_out: bool = False) -> Response:
    token = request.cookies.get(CONSOLE.cookie)
    if token is not None:
        live = await run_in_threadpool(engine_of(request).console.session, token)
        if live is not None:
            return redirect(_next(next))
    return _form(request, target=_next(next), signed_out=signed_out)


@router.post("/login")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    sent = form.get("csrf")
    check_form_token(request, sent if isinstance(sent, str) else None)
    email, password = text(form, "email"), form.get("password")
    target = _next(text(form, "next"))
    if not email or not isinstance(password, str) or not password:
        return _form(
            request, status=422, error="Enter your email and password.", email=email, target=target
        )
    address = request.client.host if request.client else "unknown"
    try:
        token = await run_in_threadpool(
            engine_of(request).console.sign_in, email=email, password=password, address=address
        )
    except TooManyAttempts as refused:
        return _form(request, status=429, error=refused.message, email=email, target=target)
    if token is None:
        return _form(
            request,
            status=401,
            error="That email and password do not match a staff member who may sign in.",
            email=email,
            target=target,
        )
    done = redirect(target)
    set_cookie(request, done, CONSOLE, token)
    return done


@router.post("/logout")
async def sign_out(request: Request, agent: Agent) -> Response:
    await checked_form(request, agent)
    token = request.cookies.get(CONSOLE.cookie)
    if token:
        await run_in_threadpool(engine_of(request).console.sign_out, token)
    done = redirect("/console/login?signed_out=1")
    clear_cookie(done, CONSOLE)
    return done
