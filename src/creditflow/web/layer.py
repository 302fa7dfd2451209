"""What every server-rendered page shares: templates, assets, sessions, CSRF and error pages.

The console and the portal are HTML over the same engine. Pages are rendered here from Jinja2
templates (autoescaped), styled by the package's own stylesheet, and work without JavaScript.
A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over https), scoped to
its area's path; every form that changes something carries the session's CSRF token, and a form
without the right one is refused with 403 before anything happens. Forms shown before there is a
session (sign-in) carry a token that must match a cookie of its own.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.datastructures import FormData

from creditflow.domain.catalog import currency_exponent
from creditflow.domain.documents import format_money
from creditflow.domain.errors import CreditflowError, Forbidden
from creditflow.services.views import Money

ASSETS = "/assets/web"
STATIC_DIR = Path(__file__).parent / "static"
FORM_COOKIE = "cf_form"
"""The CSRF token of forms shown before sign-in."""


class CsrfRefused(Forbidden):
    code = "csrf_refused"


@dataclass(frozen=True, slots=True)
class Area:
    """One set of pages (the console, the portal): its cookie and where it lives."""

    name: str
    cookie: str
    path: str
    sign_in: str


def money(value: Money | Mapping[str, Any] | None) -> str:
    if value is None:
        return "—"
    amount, currency = (
        (value.amount, value.currency)
        if isinstance(value, Money)
        else (int(value["amount"]), str(value["currency"]))
    )
    return format_money(amount, currency, currency_exponent(currency))


def when(value: datetime | str | None, style: str = "minute") -> str:
    """A time as people read it, in UTC (the console's and the books' zone)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = value.astimezone(UTC)
    if style == "date":
        return value.strftime("%-d %b %Y")
    return value.strftime("%-d %b %Y, %H:%M UTC")


def local(value: datetime | str | None, zone: str, style: str = "minute") -> str:
    """A time as a member reads it: in the site's time zone, named (the portal)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = value.astimezone(ZoneInfo(zone))
    if style == "date":
        return value.strftime("%-d %B %Y")
    if style == "day":
        return value.strftime("%-d %B")
    return value.strftime(f"%-d %B %Y, %H:%M ({zone})")


def lapses(value: datetime, zone: str) -> str:
    """When credits lapse, as a member reads it: credits that lapse at the site's midnight
    lapse "at the end of 2 December", not "on 3 December"."""
    at = value.astimezone(ZoneInfo(zone))
    if (at.hour, at.minute, at.second) == (0, 0, 0):
        return f"at the end of {(at - timedelta(days=1)).strftime('%-d %B %Y')}"
    return f"on {at.strftime('%-d %B %Y')} at {at.strftime('%H:%M')}"


def credits(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("creditflow.web", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        money=money,
        when=when,
        local=local,
        lapses=lapses,
        credits=credits,
        percent=_percent,
    )
    environment.globals.update(assets=ASSETS)
    return environment


def _percent(value: Decimal | float) -> str:
    return f"{Decimal(str(value)) * 100:.0f} %"


TEMPLATES = _environment()


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """A page; `agent` (the console's staff member) and `customer` (the portal's) are whoever
    the request's session found."""
    site = request.app.state.engine.catalog.site
    context.setdefault("site", site)
    context.setdefault("site_name", site.name)
    context.setdefault("agent", getattr(request.state, "staff", None))
    context.setdefault("customer", getattr(request.state, "customer", None))
    context.setdefault("current", None)
    context.setdefault("done", None)
    page = TEMPLATES.get_template(template).render(request=request, **context)
    logo = f" {_origin(site.logo_url)}" if site.logo_url else ""
    return HTMLResponse(
        page,
        status_code=status,
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Content-Security-Policy": f"default-src 'self'; img-src 'self' data:{logo}; "
            "style-src 'self'; frame-ancestors 'none'; form-action 'self'",
        },
    )


def _origin(url: str) -> str:
    """The scheme and host of the site's logo, the one image from elsewhere a page may show."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def set_cookie(request: Request, response: Response, area: Area, token: str) -> None:
    response.set_cookie(
        area.cookie,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=area.path,
    )


def clear_cookie(response: Response, area: Area) -> None:
    response.delete_cookie(area.cookie, path=area.path)


def form_token(request: Request) -> str:
    """The CSRF token of a form shown before sign-in (reused while its cookie lasts)."""
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)


def keep_form_token(request: Request, response: Response, token: str, area: Area) -> None:
    if request.cookies.get(FORM_COOKIE) != token:
        response.set_cookie(
            FORM_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=area.path,
        )


def check_form_token(request: Request, sent: str | None) -> None:
    expected = request.cookies.get(FORM_COOKIE)
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused("This form has expired or did not come from this site; reload it.")


async def checked_form(request: Request, csrf: str) -> FormData:
    """The posted form, once its CSRF token is the session's `csrf` (403 otherwise, before
    anything is done)."""
    form = await request.form()
    sent = form.get("csrf")
    check_csrf(csrf, sent if isinstance(sent, str) else None)
    return form


def check_csrf(expected: str, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused(
            "This form is missing its security token or it does not match your session: "
            "reload the page and try again. Nothing was changed."
        )


def sniff(data: bytes) -> str:
    """An evidence file's type from its bytes (it was judged by them when it came in)."""
    for magic, kind in (
        (b"%PDF-", "application/pdf"),
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
        (b"BM", "image/bmp"),
    ):
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def evidence_response(data: bytes) -> Response:
    """An uploaded file shown as what its bytes are (an image, a PDF), never as a page of
    ours: sandboxed, not sniffed, not kept by shared caches."""
    return Response(
        data,
        media_type=sniff(data),
        headers={
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def hidden(name: str, value: str) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(name, value)


HEADINGS = {
    400: "That request was not understood",
    403: "Not allowed",
    404: "Not found",
    405: "Not found",
    409: "That cannot be done now",
    422: "Check what was entered",
    500: "Something went wrong",
    502: "The payment provider did not answer",
}


def error_page(area: Area) -> Callable[[Request, int, CreditflowError], Response]:
    """The page for an error under `area`: sign-in when there is no session, else a page that
    says what went wrong in words, with the same status an API client would get."""

    def page(request: Request, status: int, error: CreditflowError) -> Response:
        if status == 401:
            target = request.url.path if request.method == "GET" else area.path
            return redirect(f"{area.sign_in}?{urlencode({'next': target})}")
        message = error.message
        if status == 404 and error.code == "not_found" and "Not Found" in message:
            message = "There is no page at this address."
        return render(
            request,
            "error.html",
            status=status,
            status_code=status,
            area=area.name,
            home=area.path,
            heading=HEADINGS.get(status, "That did not work"),
            message=message,
            code=error.code,
        )

    return page
