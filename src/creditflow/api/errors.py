"""The one place where errors become HTTP answers, in the contract's shape.

`{"error": {"code", "message", "details"}}`; never a 500 for bad input. Under the paths of the
server-rendered pages (`app.state.error_pages`: path prefix → page maker) the same error is a
page for people instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from creditflow.domain import errors

log = logging.getLogger(__name__)


class MalformedJson(errors.CreditflowError):
    code = "malformed_json"


STATUS: list[tuple[type[errors.CreditflowError], int]] = [
    (MalformedJson, 400),
    (errors.InvalidSignature, 400),
    (errors.Unauthorized, 401),
    (errors.InsufficientCredits, 402),
    (errors.PaymentDeclined, 402),
    (errors.AccountSuspended, 403),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InvalidRequest, 422),
    (errors.CatalogError, 422),
    (errors.ProviderUnavailable, 502),
    (errors.ProviderRefused, 502),
]


def status_of(error: errors.CreditflowError) -> int:
    for error_type, status in STATUS:
        if isinstance(error, error_type):
            return status
    return 400


ErrorPage = Callable[[Request, int, errors.CreditflowError], Response]
"""Makes the page people see for an error under its prefix (a 404 page, a sign-in redirect)."""


def _page_maker(request: Request) -> ErrorPage | None:
    pages: dict[str, ErrorPage] = getattr(request.app.state, "error_pages", {})
    path = request.url.path
    for prefix, make in pages.items():
        if path == prefix or path.startswith(prefix + "/"):
            return make
    return None


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    error: errors.CreditflowError | None = None,
) -> Response:
    make = _page_maker(request)
    if make is not None:
        shown = error or errors.CreditflowError(message, code=code, **(details or {}))
        return make(request, status, shown)
    return error_response(status, code, message, details)


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(
        content=json.dumps(body, default=str),
        status_code=status,
        media_type="application/json",
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.CreditflowError)
    async def _domain(request: Request, error: errors.CreditflowError) -> Response:
        return _answer(request, status_of(error), error.code, error.message, error.details, error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        problems = [_describe(problem) for problem in error.errors()]
        if any(p["type"] == "json_invalid" for p in problems):
            return error_response(
                400, MalformedJson.code, "The request body is not valid JSON.", {}
            )
        content_type = request.headers.get("content-type", "")
        if (
            request.method in ("POST", "PUT", "PATCH")
            and content_type
            and "json" not in content_type
        ):
            return error_response(
                415,
                "unsupported_media_type",
                f"Send the body as JSON with 'Content-Type: application/json', not {content_type}.",
                {"content_type": content_type},
            )
        first = problems[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return _answer(request, 422, "invalid_request", message, {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        code = codes.get(error.status_code, "http_error")
        return _answer(request, error.status_code, code, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error", exc_info=error)
        return _answer(request, 500, "internal_error", "Something went wrong on our side.")


def _describe(problem: Any) -> dict[str, Any]:
    location = [str(part) for part in problem.get("loc", ()) if part not in ("body", "query")]
    kind = problem.get("type", "")
    message = {
        "missing": "is required",
        "extra_forbidden": "is not a field this request takes",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "int_parsing": "must be a whole number",
        "string_type": "must be a string",
        "model_attributes_type": "the body must be a JSON object",
        "dict_type": "must be a JSON object",
        "datetime_type": "must be an RFC 3339 time such as 2026-11-22T10:00:00Z",
        "datetime_parsing": "must be an RFC 3339 time such as 2026-11-22T10:00:00Z",
        "timezone_aware": "must give its timezone, such as a trailing Z",
    }.get(kind, problem.get("msg", "is invalid"))
    if kind in ("greater_than", "less_than_equal", "greater_than_equal", "less_than"):
        message = problem.get("msg", "is out of range").replace("Input should be", "must be")
    if kind in ("literal_error", "enum"):
        message = problem.get("msg", "is not one of the allowed values").replace(
            "Input should be", "must be"
        )
    if kind in ("string_too_long", "string_too_short"):
        message = problem.get("msg", "has the wrong length").replace("String should", "must")
    return {"field": ".".join(location), "message": message, "type": kind}
