"""The audit log, unmatched provider webhooks, the loaded catalog; staff and API keys (admin).

Staff and API keys are an admin's: a support member asking for those pages gets 403, enforced
here on the server (the navigation merely hides the links).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from creditflow.domain.catalog import Catalog
from creditflow.domain.errors import Conflict, InvalidRequest, NotFound
from creditflow.services.api_keys import ROLES as KEY_ROLES
from creditflow.services.staff import ROLES as STAFF_ROLES
from creditflow.web.console.forms import checked_form, problems, show, text
from creditflow.web.console.session import Admin, Agent, engine_of
from creditflow.web.layer import redirect

router = APIRouter()


@router.get("/audit")
async def audit(
    request: Request,
    agent: Agent,
    actor: str = "",
    action: str = "",
    before: int | None = Query(None, ge=1),
) -> Response:
    page = await run_in_threadpool(
        lambda: engine_of(request).console.audit_log(
            actor=actor or None, action=action or None, before=before
        )
    )
    return show(
        request,
        "audit.html",
        current="audit",
        page=page,
        actor=actor,
        action=action,
        actions=[("", "Any action"), *((a, a.replace("_", " ")) for a in page.actions)],
    )


@router.get("/webhooks")
async def unmatched(request: Request, agent: Agent) -> Response:
    rows = await run_in_threadpool(
        lambda: engine_of(request).unmatched_webhooks(newest_first=True, limit=200)
    )
    return show(request, "webhooks.html", current="webhooks", rows=rows)


@router.get("/catalog")
async def catalog(request: Request, agent: Agent) -> Response:
    return show(
        request,
        "catalog.html",
        current="catalog",
        sections=catalog_sections(engine_of(request).catalog),
    )


def catalog_sections(catalog: Catalog) -> list[dict[str, Any]]:
    """The catalog as sections of facts or tables, in the file's own order and words."""
    sections: list[dict[str, Any]] = []
    for name in type(catalog).model_fields:
        value = getattr(catalog, name)
        if value is None or value == () or value == {}:
            continue
        title = name.replace("_", " ").capitalize()
        if isinstance(value, BaseModel):
            sections.append({"title": title, "facts": _facts(value)})
        elif isinstance(value, tuple) and all(isinstance(v, BaseModel) for v in value):
            sections.append({"title": title, "table": _table(list(value))})
        elif isinstance(value, Mapping) and all(isinstance(v, BaseModel) for v in value.values()):
            rows = [{"name": key, **_facts(item)} for key, item in value.items()]
            sections.append({"title": title, "table": rows})
    return sections


def _facts(model: BaseModel) -> dict[str, str]:
    return {key: _shown(getattr(model, key)) for key in type(model).model_fields}


def _table(models: list[BaseModel]) -> list[dict[str, str]]:
    return [_facts(model) for model in models]


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, BaseModel):
        shown = {k: _shown(v) for k, v in _facts(value).items()}
        return ", ".join(f"{k} {v}" for k, v in shown.items() if v not in ("—", "0", "no"))
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_shown(v)}" for k, v in value.items()) or "—"
    if isinstance(value, tuple | list):
        return ", ".join(_shown(v) for v in value) or "—"
    return str(value)


# Staff (admin)

DONE = {
    "staff_created": "The staff member can sign in now.",
    "staff_disabled": "The staff member can no longer sign in; their sessions ended.",
}


async def _staff_page(
    request: Request,
    *,
    status: int = 200,
    done: str | None = None,
    created: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    members = await run_in_threadpool(engine_of(request).staff)
    return show(
        request,
        "staff.html",
        current="staff",
        status=status,
        done=done,
        members=members,
        roles=[(r, r) for r in STAFF_ROLES],
        created=created,
        values=values or {},
        errors=errors or {},
    )


@router.get("/staff")
async def staff(request: Request, agent: Admin, done: str = "") -> Response:
    return await _staff_page(request, done=DONE.get(done))


@router.post("/staff")
async def create_staff(request: Request, agent: Admin) -> Response:
    form = await checked_form(request, agent)
    values = {"email": text(form, "email"), "role": text(form, "role")}
    try:
        member, password = await run_in_threadpool(
            lambda: engine_of(request).create_staff(
                values["email"], role=values["role"], actor=agent.email
            )
        )
    except (InvalidRequest, Conflict) as refused:
        errors = problems(refused)
        if refused.code == "staff_exists":
            errors = {"email": refused.message}
        return await _staff_page(request, status=422, values=values, errors=errors)
    # The password is shown once, on this answer, never stored to be shown again.
    return await _staff_page(request, created=(member.email, password))


@router.post("/staff/disable")
async def disable_staff(request: Request, agent: Admin) -> Response:
    form = await checked_form(request, agent)
    email = text(form, "email", required=True, label="An email")
    if email.lower() == agent.email.lower():
        return await _staff_page(
            request, status=409, errors={"form": "You cannot disable yourself."}
        )
    try:
        await run_in_threadpool(lambda: engine_of(request).disable_staff(email, actor=agent.email))
    except NotFound as missing:
        return await _staff_page(request, status=404, errors={"form": missing.message})
    return redirect("/console/staff?done=staff_disabled")


# API keys (admin)


async def _keys_page(
    request: Request,
    *,
    status: int = 200,
    done: str | None = None,
    created: Any = None,
    errors: dict[str, str] | None = None,
) -> Response:
    keys = await run_in_threadpool(engine_of(request).console.api_keys)
    return show(
        request,
        "keys.html",
        current="keys",
        status=status,
        done=done,
        keys=keys,
        roles=[(r, r) for r in KEY_ROLES],
        created=created,
        errors=errors or {},
    )


@router.get("/keys")
async def keys(request: Request, agent: Admin, done: str = "") -> Response:
    return await _keys_page(request, done="The key is revoked." if done == "revoked" else None)


@router.post("/keys")
async def create_key(request: Request, agent: Admin) -> Response:
    form = await checked_form(request, agent)
    role, label = text(form, "role"), text(form, "label") or None
    try:
        made = await run_in_threadpool(
            lambda: engine_of(request).console.create_api_key(
                role=role, label=label, actor=agent.email
            )
        )
    except InvalidRequest as refused:
        return await _keys_page(request, status=422, errors=problems(refused))
    return await _keys_page(request, created=made)


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str, agent: Admin) -> Response:
    form = await checked_form(request, agent)
    try:
        form_id = text(form, "form_id", required=True, label="The form's id (reload the page)")
        await run_in_threadpool(
            lambda: engine_of(request).console.revoke_api_key(
                key_id, actor=agent.email, form_id=form_id
            )
        )
    except (InvalidRequest, NotFound) as refused:
        return await _keys_page(request, status=404, errors={"form": refused.message})
    return redirect("/console/keys?done=revoked")
