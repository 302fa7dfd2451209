"""The OpenAPI document a client generator can use, and `/docs` that works offline.

Every error answer has the real body, `{"error": {"code", "message", "details"}}`, and lists the
codes it can carry: the codes particular to an operation are declared on its route
(`problems(…)`), the ones every operation shares (a missing key, a wrong role, an unknown id, a
malformed body, a reused idempotency key) are added here. The bearer scheme makes Swagger's
"Authorize" work. The docs page takes its Swagger UI from a Python package, not a CDN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

ASSETS = "/docs/assets"
BEARER = "bearerAuth"
UNSIGNED = ("/v1/webhooks/",)
"""Paths a provider calls with its own signature, not an API key."""


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable and snake_case: what a program branches on.")
    message: str = Field(description="A sentence a person understands.")
    details: dict[str, Any] = Field(description="What the code is about (ids, limits, fields).")


class ErrorBody(BaseModel):
    error: ErrorDetail


def problems(codes: Mapping[int, Sequence[str]]) -> dict[int | str, dict[str, Any]]:
    """The error answers particular to a route, for its decorator's `responses`."""
    return {status: _error_response(list(found)) for status, found in codes.items()}


def binary(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """A 200 answer that is a file, not JSON."""
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def multipart(fields: Mapping[str, dict[str, Any]], required: Sequence[str]) -> dict[str, Any]:
    """A multipart request body, for a route that reads its form itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": dict(fields),
                        "required": list(required),
                    }
                }
            },
        }
    }


def _error_response(codes: list[str]) -> dict[str, Any]:
    return {
        "description": "Error codes: " + ", ".join(f"`{code}`" for code in codes) + ".",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        "x-error-codes": codes,
    }


def _shared_errors(path: str, method: str, operation: dict[str, Any]) -> dict[int, list[str]]:
    shared: dict[int, list[str]] = {}
    if path.startswith("/v1/") and not path.startswith(UNSIGNED):
        shared[401] = ["unauthorized"]
        shared[403] = ["forbidden"]
    if "{" in path:
        shared[404] = ["not_found"]
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        shared[400] = ["malformed_json"]
        shared[415] = ["unsupported_media_type"]
    if body:
        shared[413] = ["body_too_large"]
    if body or operation.get("parameters"):
        shared[422] = ["invalid_request"]
    if method == "post" and path.startswith("/v1/") and not path.startswith(UNSIGNED):
        shared[409] = ["idempotency_key_reused", "idempotency_key_in_use"]
    return shared


def _document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    error_schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorBody"] = error_schema
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `creditflow keys create --role ROLE`, or the admin key "
            "of CREDITFLOW_ADMIN_KEY.",
        }
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses and "x-error-codes" not in responses["422"]:
                del responses["422"]  # FastAPI's own validation body: ours replaces it
            for status, codes in _shared_errors(path, method, operation).items():
                known = responses.get(str(status), {}).get("x-error-codes", [])
                responses[str(status)] = _error_response(
                    [*known, *(c for c in codes if c not in known)]
                )
            if path.startswith("/v1/") and not path.startswith(UNSIGNED):
                operation["security"] = [{BEARER: []}]
    return spec


def install_openapi(app: FastAPI) -> None:
    """The document at /openapi.json, and Swagger UI at /docs from packaged assets."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # The validator badge would call out to validator.swagger.io: nothing leaves here.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )
