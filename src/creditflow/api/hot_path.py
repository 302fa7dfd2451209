"""The spend path's own dispatch: its endpoints called without FastAPI's per-request solving.

FastAPI works out a route's dependencies and parameters anew on every request: about a
thousand Python calls for a spend, more than the spend itself costs (benchmarks/serve.py). The
hot endpoints (spend, hold, capture, release, balance) take few and fixed arguments, so this
layer in front of the router matches them with one regular expression each and calls the same
endpoint functions with the same dependencies (the key's check, the raw body) and the body's
model, read from what FastAPI itself found in the route. Whatever it does not take as given
(another content type, a body that does not validate, a missing one) it hands to FastAPI
unchanged, so every refusal keeps FastAPI's answer. The routes stay declared in FastAPI: the
OpenAPI document and the route's own tests still see them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOT = (
    ("POST", "/v1/accounts/{account_id}/consume"),
    ("GET", "/v1/accounts/{account_id}/balance"),
    ("POST", "/v1/accounts/{account_id}/holds"),
    ("POST", "/v1/holds/{hold_id}/capture"),
    ("POST", "/v1/holds/{hold_id}/release"),
)


class _FastAPIDecides(Exception):
    """The request is not the plain case: FastAPI answers it."""


@dataclass(frozen=True)
class HotRoute:
    method: str
    pattern: re.Pattern[str]
    route: APIRoute
    endpoint: Callable[..., Awaitable[Any]]
    request_name: str | None
    dependencies: tuple[tuple[str, Callable[[Request], Awaitable[Any]]], ...]
    """Each dependency's parameter and function; each takes the request alone."""
    query: tuple[str, ...]
    body_name: str | None
    body_model: type[BaseModel] | None
    body_required: bool

    @classmethod
    def of(cls, route: APIRoute) -> HotRoute:
        dependant = route.dependant
        dependencies = []
        for sub in dependant.dependencies:
            assert sub.name and sub.call and sub.request_param_name, route.path
            assert not (sub.path_params or sub.query_params or sub.body_params), route.path
            dependencies.append((sub.name, sub.call))
        body_name = body_model = None
        body_required = False
        if dependant.body_params:
            (field,) = dependant.body_params
            body_name, body_required = field.name, field.field_info.is_required()
            body_model = _model_of(field.field_info.annotation)
        assert dependant.call is not None
        template = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path)
        return cls(
            method=next(iter(route.methods or ())),
            pattern=re.compile(f"^{template}$"),
            route=route,
            endpoint=dependant.call,
            request_name=dependant.request_param_name,
            dependencies=tuple(dependencies),
            query=tuple(param.name for param in dependant.query_params),
            body_name=body_name,
            body_model=body_model,
            body_required=body_required,
        )

    async def call(self, request: Request, path: dict[str, str], raw: bytes) -> Any:
        arguments: dict[str, Any] = dict(path)
        if self.request_name:
            arguments[self.request_name] = request
        for name, dependency in self.dependencies:
            arguments[name] = await dependency(request)
        for name in self.query:
            arguments[name] = request.query_params.get(name)
        if self.body_name is not None:
            arguments[self.body_name] = self._body(request, raw)
        return await self.endpoint(**arguments)

    def _body(self, request: Request, raw: bytes) -> BaseModel | None:
        content_type = request.headers.get("content-type")
        if content_type is not None and content_type.split(";")[0].strip() != "application/json":
            raise _FastAPIDecides
        if not raw:
            if self.body_required or content_type is not None:
                raise _FastAPIDecides
            return None
        assert self.body_model is not None
        try:
            return self.body_model.model_validate(json.loads(raw))
        except (ValueError, ValidationError):  # JSONDecodeError is a ValueError
            raise _FastAPIDecides from None


def _model_of(annotation: Any) -> type[BaseModel]:
    """The model of `Model` or `Model | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for member in getattr(annotation, "__args__", ()):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    raise TypeError(f"no model in {annotation!r}")


def hot_routes(app: FastAPI, wanted: Sequence[tuple[str, str]] = HOT) -> list[HotRoute]:
    found = {
        (method, context.route.path): context.route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.route, APIRoute)
        for method in context.route.methods or ()
    }
    return [HotRoute.of(found[wanted_route]) for wanted_route in wanted]


class HotPath:
    def __init__(self, app: ASGIApp, routes: list[HotRoute], fastapi: FastAPI) -> None:
        self.app = app
        self._routes = routes
        self._fastapi = fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        for hot in self._routes:
            if hot.method == method and (match := hot.pattern.match(path)):
                break
        else:
            await self.app(scope, receive, send)
            return
        raw = await _read_body(receive)
        scope["route"] = hot.route  # as the router would: metrics label by the route
        request = Request(scope, _replaying(raw))
        try:
            response = await hot.call(request, match.groupdict(), raw)
        except _FastAPIDecides:
            await self.app(scope, _replaying(raw), send)
            return
        except Exception as error:
            handler = self._handler_of(error)
            if handler is None:
                raise
            response = await handler(request, error)
        await response(scope, receive, send)

    def _handler_of(self, error: Exception) -> Callable[..., Any] | None:
        """The app's handler of this error; None for one the server's last resort answers."""
        handlers = self._fastapi.exception_handlers
        for kind in type(error).__mro__:
            if kind in handlers and kind is not Exception:
                return handlers[kind]
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(raw: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
