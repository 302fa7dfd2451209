"""The HTTP API in-process (FastAPI's TestClient), with a key for every role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditflow.api.app import create_app
from creditflow.engine import Engine

ADMIN_KEY = "test-admin-secret"


class Api:
    """A client per role, and a shortcut to make an account with credits."""

    def __init__(self, client: TestClient, engine: Engine) -> None:
        self.client = client
        self.engine = engine
        self.keys = {
            role: engine.create_api_key(role=role).secret
            for role in ("service", "support", "worker")
        }
        self.keys["admin"] = ADMIN_KEY

    def headers(self, role: str = "admin", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **extra}

    def post(self, path: str, body: Any = None, *, role: str = "admin", **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.headers(role, **headers))

    def get(self, path: str, *, role: str = "admin", **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(role))

    def account(self, credits: int = 0, **grant: Any) -> str:
        n = len(self.engine.accounts(limit=500).data) + 1
        response = self.post("/v1/accounts", {"external_id": f"ext-{n}", "email": f"u{n}@x.io"})
        assert response.status_code == 201, response.text
        account_id: str = response.json()["id"]
        if credits:
            body = {"credits": credits, "kind": "purchased", "reason": "test", **grant}
            assert self.post(f"/v1/accounts/{account_id}/grants", body).status_code == 201
        return account_id


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    app = create_app(
        engine,
        admin_key=ADMIN_KEY,
        due_work_interval=None,
        mail_interval=None,
        webhook_interval=None,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, engine)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    error: dict[str, Any] = body["error"]
    return error
