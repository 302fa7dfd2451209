"""Into the portal and out: a one-time link becomes a session; a member with only their email
asks for a link by mail; sign-out ends the session.

The page that asks for a link answers the same whether or not the address has an account, so
it tells nobody who the site's members are.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from creditflow.services.portal_links import LinkUnusable
from creditflow.web.fields import text
from creditflow.web.layer import (
    check_form_token,
    clear_cookie,
    form_token,
    keep_form_token,
    redirect,
    set_cookie,
)
from creditflow.web.portal.forms import checked_form, show
from creditflow.web.portal.session import PORTAL, RETURN_COOKIE, Member, engine_of

router = APIRouter()

PROBLEMS = {
    "used": ("This link has been used already", 410),
    "expired": ("This link has expired", 410),
    "unknown": ("This link does not work", 404),
    "suspended": ("This account is suspended", 403),
}


def _sign_in_page(
    request: Request,
    *,
    status: int = 200,
    problem: dict[str, str] | None = None,
    sent: bool = False,
    signed_out: bool = False,
    email: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    token = form_token(request)
    page = show(
        request,
        "sign_in.html",
        current="sign_in",
        status=status,
        csrf=token,
        problem=problem,
        sent=sent,
        signed_out=signed_out,
        email=email,
        errors=errors or {},
    )
    keep_form_token(request, page, token, PORTAL)
    return page


@router.get("/open/{token}")
async def open_link(request: Request, token: str) -> Response:
    try:
        opened = await run_in_threadpool(engine_of(request).portal.open_link, token)
    except LinkUnusable as refused:
        heading, status = PROBLEMS[str(refused.details.get("reason", "unknown"))]
        return _sign_in_page(
            request,
            status=status,
            problem={
                "heading": heading,
                "message": "A link into your account works once, for a few minutes, "
                "so that nobody who finds it later can use it.",
            },
        )
    done = redirect("/portal")
    set_cookie(request, done, PORTAL, opened.session_token)
    if opened.return_url:
        done.set_cookie(
            RETURN_COOKIE,
            opened.return_url,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path=PORTAL.path,
        )
    else:
        done.delete_cookie(RETURN_COOKIE, path=PORTAL.path)
    return done


@router.get("/sign-in")
async def sign_in_form(request: Request, signed_out: bool = False) -> Response:
    return _sign_in_page(request, signed_out=signed_out)


@router.post("/sign-in")
async def mail_a_link(request: Request) -> Response:
    form = await request.form()
    sent = form.get("csrf")
    check_form_token(request, sent if isinstance(sent, str) else None)
    email = text(form, "email")
    if "@" not in email or len(email) > 320:
        return _sign_in_page(
            request,
            status=422,
            email=email,
            errors={"email": "Enter the email address of your account, such as ada@example.com."},
        )
    engine = engine_of(request)
    base = engine.public_url or str(request.base_url).rstrip("/")
    await run_in_threadpool(lambda: engine.portal.mail_link(email, base_url=base))
    return _sign_in_page(request, sent=True, email=email)


@router.post("/logout")
async def sign_out(request: Request, customer: Member) -> Response:
    await checked_form(request, customer)
    await run_in_threadpool(engine_of(request).portal.sign_out, customer.token)
    done = redirect("/portal/sign-in?signed_out=1")
    clear_cookie(done, PORTAL)
    done.delete_cookie(RETURN_COOKIE, path=PORTAL.path)
    return done


@router.get("/brand.css")
async def brand_stylesheet(request: Request) -> Response:
    """The site's accent colour from its catalog, as the one style a portal page adds."""
    colour = engine_of(request).catalog.site.accent_color or "#2450a6"
    return Response(
        f":root {{ --brand: {colour}; }}\n",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=300"},
    )
