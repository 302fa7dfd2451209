"""Who is signed in to the console, and what their forms carry.

A page asks for `Agent` (any active staff member) or `Admin` as a dependency. With no live
session the answer is a redirect to the sign-in page; a support member on an admin's page gets
403. Only the console's cookie is read here, never an `Authorization` header: an API key does
not open the console, and the API never reads this cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from creditflow.domain.errors import Forbidden, Unauthorized
from creditflow.engine import Engine
from creditflow.services.staff import StaffMember
from creditflow.web.layer import Area

CONSOLE = Area(name="console", cookie="cf_console", path="/console", sign_in="/console/login")


class SignInNeeded(Unauthorized):
    code = "sign_in_needed"


@dataclass(frozen=True, slots=True)
class StaffSession:
    member: StaffMember
    csrf: str

    @property
    def form_id(self) -> str:
        """A fresh id each time it is read: one per form shown, the action's idempotency key
        (so a form sent twice does its work once)."""
        return secrets.token_urlsafe(16)

    @property
    def email(self) -> str:
        return self.member.email


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def staff_session(request: Request) -> StaffSession:
    token = request.cookies.get(CONSOLE.cookie)
    found = await run_in_threadpool(engine_of(request).console.session, token) if token else None
    if found is None:
        raise SignInNeeded("Sign in to use the console.")
    session, member = found
    signed_in = StaffSession(member=member, csrf=session.csrf)
    request.state.staff = signed_in
    return signed_in


async def admin_session(request: Request) -> StaffSession:
    signed_in = await staff_session(request)
    if not signed_in.member.is_admin:
        raise Forbidden("Only an admin may manage staff and API keys.", role=signed_in.member.role)
    return signed_in


Agent = Annotated[StaffSession, Depends(staff_session)]
Admin = Annotated[StaffSession, Depends(admin_session)]
