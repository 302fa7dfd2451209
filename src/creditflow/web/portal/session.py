"""Whose portal this is: the one account a link was minted for, and what its forms carry.

A page asks for `Member`. With no live session the answer is the sign-in page (ask for a link
by mail). The session's account is the only account any portal page reads or changes: every
id a page is given (an order, an invoice, a job, a request) is looked up through it, and one
that is not the account's is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from creditflow.domain.errors import NotFound, Unauthorized
from creditflow.engine import Engine
from creditflow.services.views import AccountView
from creditflow.web.layer import Area

PORTAL = Area(name="portal", cookie="cf_portal", path="/portal", sign_in="/portal/sign-in")
RETURN_COOKIE = "cf_return"
"""The site's `return_url` of the link that opened the session (not a secret)."""


class PortalSignInNeeded(Unauthorized):
    code = "sign_in_needed"


@dataclass(frozen=True, slots=True)
class CustomerSession:
    account: AccountView
    csrf: str
    token: str
    return_url: str | None

    @property
    def form_id(self) -> str:
        """A fresh id per form shown: the action's idempotency key, so a form sent twice (a
        double click, a reload) does its work once."""
        return secrets.token_urlsafe(16)

    def idempotency_key(self, form_id: str) -> str:
        return f"portal:{self.account.id}:{form_id}"


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def customer_session(request: Request) -> CustomerSession:
    token = request.cookies.get(PORTAL.cookie)
    found = await run_in_threadpool(engine_of(request).portal.session, token) if token else None
    if found is None:
        raise PortalSignInNeeded("Open the link from the site, or ask for one by mail.")
    session, account = found
    customer = CustomerSession(
        account=account,
        csrf=session.csrf,
        token=token or "",
        return_url=request.cookies.get(RETURN_COOKIE) or engine_of(request).catalog.site.url,
    )
    request.state.customer = customer
    return customer


def owned(account_id: str, customer: CustomerSession, what: str) -> None:
    """404 unless the thing belongs to the session's account (never a 403: no hint that it
    exists)."""
    if account_id != customer.account.id:
        raise NotFound(f"No {what} of yours has this id.")


class OfAnAccount(Protocol):
    @property
    def account_id(self) -> str: ...


T = TypeVar("T", bound=OfAnAccount)


def own(customer: CustomerSession, what: str, look_up: Callable[[str], T], thing_id: str) -> T:
    """The thing with this id, if it is the session account's: one that does not exist and
    another account's get the same 404 in the same words, so nothing says which ids exist."""
    try:
        found = look_up(thing_id)
    except NotFound:
        raise NotFound(f"No {what} of yours has this id.") from None
    owned(found.account_id, customer, what)
    return found


Member = Annotated[CustomerSession, Depends(customer_session)]
