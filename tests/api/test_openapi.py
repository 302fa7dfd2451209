"""The OpenAPI document is one a client generator can use, and /docs works offline (issue 10)."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate

from tests.api.conftest import Api

OPS = ("get", "post", "put", "patch", "delete")
UNGUARDED = {"/healthz", "/metrics"}
"""For load balancers and scrapers: no key, and nothing to refuse."""


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
        if method in OPS
    ]


def test_the_document_is_valid_openapi(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert len(operations(spec)) >= 60


def test_every_operation_has_a_summary_a_description_and_a_documented_error(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, method, op in operations(spec):
        name = f"{method.upper()} {path}"
        assert op.get("summary") and op.get("description"), name
        if path in UNGUARDED:
            continue
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        assert errors, name
        for status, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (name, status)
            assert response["x-error-codes"], (name, status)
        assert "HTTPValidationError" not in str(op), name


def test_errors_are_the_real_error_body_with_each_operations_codes(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    body = spec["components"]["schemas"]["ErrorBody"]
    assert body["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "details"}
    consume = spec["paths"]["/v1/accounts/{account_id}/consume"]["post"]["responses"]
    assert consume["402"]["x-error-codes"] == ["insufficient_credits"]
    assert "account_suspended" in consume["403"]["x-error-codes"]
    assert "idempotency_key_reused" in consume["409"]["x-error-codes"]
    assert consume["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SpendView"
    }
    refund = spec["paths"]["/v1/orders/{order_id}/refunds"]["post"]["responses"]
    assert "order_disputed" in refund["409"]["x-error-codes"]
    assert refund["502"]["x-error-codes"] == ["provider_unavailable", "provider_refused"]


def test_the_bearer_scheme_guards_every_keyed_operation(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, method, op in operations(spec):
        keyed = path.startswith("/v1/") and not path.startswith("/v1/webhooks/")
        assert (op.get("security") == [{"bearerAuth": []}]) == keyed, f"{method} {path}"


def test_the_multipart_bodies_are_described(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    job = spec["paths"]["/v1/accounts/{account_id}/jobs"]["post"]["requestBody"]
    form = job["content"]["multipart/form-data"]["schema"]
    assert set(form["required"]) == {"operation", "image"}
    assert form["properties"]["image"]["format"] == "binary"
    evidence = spec["paths"]["/v1/evidence-files"]["post"]["requestBody"]
    assert "file" in evidence["content"]["multipart/form-data"]["schema"]["properties"]


def test_docs_are_served_from_packaged_assets_without_a_cdn(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text)
    assert external == []
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text):
        served = api.client.get(asset)
        assert served.status_code == 200 and len(served.content) > 1000, asset
