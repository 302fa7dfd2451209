"""The console's forms over HTTP, in-process: what bad input gets, on both databases.

The browser tests walk the happy paths; these send what a browser would not (no token, a stale
form, numbers out of range, ids that do not exist) and check that nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditflow.api.app import create_app
from creditflow.engine import Engine
from tests.api.conftest import ADMIN_KEY, Api

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Console:
    """A browser-like client signed in as one staff member: cookies kept, redirects not followed."""

    def __init__(self, client: TestClient, engine: Engine, role: str) -> None:
        self.client = client
        self.engine = engine
        self.email = f"{role}-{len(engine.console.staff())}@example.com"
        engine.console.create_staff(self.email, role=role, password=PASSWORD)
        form = client.get("/console/login")
        answer = client.post(
            "/console/login",
            data={"email": self.email, "password": PASSWORD, "csrf": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        self.csrf = csrf_of(client.get("/console").text)

    def post(self, path: str, data: dict[str, str], *, csrf: str | None = "session") -> Any:
        sent = dict(data)
        if csrf == "session":
            sent["csrf"] = self.csrf
        elif csrf is not None:
            sent["csrf"] = csrf
        return self.client.post(path, data=sent, follow_redirects=False)

    def confirmed(self, review: str, action: str, data: dict[str, str]) -> Any:
        """An action as an agent does it: the review page, then its confirm button."""
        page = self.post(review, data)
        assert page.status_code == 200, page.text
        form_id = FORM_ID.search(page.text)
        assert form_id, "the confirmation page has no form id"
        return self.post(action, {**data, "form_id": form_id.group(1)})


def console_client(engine: Engine) -> TestClient:
    app = create_app(
        engine,
        admin_key=ADMIN_KEY,
        due_work_interval=None,
        mail_interval=None,
        webhook_interval=None,
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def support(engine: Engine, api: Api) -> Iterator[Console]:
    with console_client(engine) as client:
        yield Console(client, engine, "support")


@pytest.fixture
def admin(engine: Engine, api: Api) -> Iterator[Console]:
    with console_client(engine) as client:
        yield Console(client, engine, "admin")


def bought(api: Api) -> dict[str, str]:
    account = api.account()
    order = api.post(f"/v1/accounts/{account}/checkout", {"product": "pack_500"}).json()
    return {"account": account, "order": order["id"]}


def requested(api: Api) -> dict[str, str]:
    made = bought(api)
    request = api.post(
        "/v1/refund-requests",
        {"order_id": made["order"], "reason": "change_of_mind", "description": "Wrong pack."},
    )
    assert request.status_code == 201, request.text
    return {**made, "request": request.json()["id"]}


def balance(api: Api, account: str) -> int:
    available: int = api.get(f"/v1/accounts/{account}/balance").json()["available"]
    return available


def entries(api: Api, account: str) -> int:
    return len(api.get(f"/v1/accounts/{account}/ledger", limit=200).json()["data"])


def test_every_form_that_changes_something_refuses_a_missing_or_wrong_token(
    api: Api, admin: Console
) -> None:
    made = requested(api)
    account, order, request = made["account"], made["order"], made["request"]
    dispute = api.post(f"/v1/orders/{order}/disputes", {}).json()["id"]
    status = api.get(f"/v1/accounts/{account}").json()["status"]  # a dispute suspends
    before = (balance(api, account), entries(api, account), len(api.engine.console.staff()))
    forms = [
        (f"/console/accounts/{account}/grant", {"grant_credits": "50", "grant_kind": "promo"}),
        (f"/console/accounts/{account}/grant/review", {"grant_credits": "50"}),
        (f"/console/accounts/{account}/suspend", {"suspend_reason": "abuse"}),
        (f"/console/accounts/{account}/reinstate", {"reinstate_reason": "ok"}),
        (f"/console/accounts/{account}/refund", {"order_id": order, "refund_reason": "x"}),
        (f"/console/refunds/{request}/decide", {"outcome": "deny", "note": "no"}),
        (f"/console/refunds/{request}/review", {"outcome": "deny", "note": "no"}),
        (f"/console/disputes/{dispute}/close", {"outcome": "won"}),
        ("/console/incidents", {"started_at": "2026-01-15T08:00", "summary": "down"}),
        ("/console/staff", {"email": "new@example.com", "role": "admin"}),
        ("/console/staff/disable", {"email": admin.email}),
        ("/console/keys", {"role": "admin"}),
        ("/console/logout", {}),
    ]
    for path, data in forms:
        for token in (None, "forged-" + admin.csrf[:8]):
            answer = admin.post(path, {**data, "form_id": "f1"}, csrf=token)
            assert answer.status_code == 403, (path, token, answer.status_code)
            assert "text/html" in answer.headers["content-type"]
    after = (balance(api, account), entries(api, account), len(api.engine.console.staff()))
    assert after == before
    assert api.get(f"/v1/refund-requests/{request}").json()["status"] != "denied"
    assert api.get(f"/v1/disputes/{dispute}").json()["status"] == "open"
    assert api.get(f"/v1/accounts/{account}").json()["status"] == status
    assert admin.client.get("/console", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        ("0", "from 1 to"),
        ("-5", "whole number"),
        ("abc", "whole number"),
        ("2.5", "whole number"),
        ("1000000000", "from 1 to"),
        ("", "required"),
    ],
)
def test_credits_out_of_range_come_back_beside_the_field(
    api: Api, support: Console, credits: str, message: str
) -> None:
    account = api.account(credits=10)
    answer = support.post(
        f"/console/accounts/{account}/grant/review",
        {"grant_credits": credits, "grant_kind": "replacement", "grant_reason": "fault"},
    )
    assert answer.status_code == 422
    field = re.search(r'id="f-grant_credits-error"[^>]*>([^<]+)<', answer.text)
    assert field and message in field.group(1), answer.text[:2000]
    assert f'value="{credits}"' in answer.text  # what was typed stays in the field
    assert balance(api, account) == 10


def test_a_sent_confirmation_gives_credits_once(api: Api, support: Console) -> None:
    account = api.account()
    data = {"grant_credits": "75", "grant_kind": "replacement", "grant_reason": "failed upscale"}
    page = support.post(f"/console/accounts/{account}/grant/review", data)
    form_id = FORM_ID.search(page.text)
    assert form_id
    for _ in range(2):  # the button pressed twice, or the page reloaded after it
        sent = support.post(f"/console/accounts/{account}/grant", {**data, "form_id": form_id[1]})
        assert sent.status_code == 303
    assert balance(api, account) == 75
    audit = support.client.get("/console/audit").text
    assert support.email in audit and "credits_given" in audit


def test_a_refund_above_what_is_refundable_is_refused_and_changes_nothing(
    api: Api, support: Console
) -> None:
    made = requested(api)
    answer = support.post(
        f"/console/refunds/{made['request']}/review",
        {"outcome": "approve_partial", "amount": "5.01", "note": "a little more"},
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-amount-error"[^>]*>[^<]*At most 5.00 USD', answer.text)
    answer = support.post(
        f"/console/accounts/{made['account']}/refund/review",
        {"order_id": made["order"], "refund_amount": "99", "refund_reason": "goodwill"},
    )
    assert answer.status_code == 422
    assert re.search(r'id="f-refund_amount-error"[^>]*>[^<]*At most 5.00 USD', answer.text)
    assert api.get(f"/v1/orders/{made['order']}").json()["status"] == "paid"
    assert balance(api, made["account"]) == 500


def test_a_decision_on_a_decided_request_comes_back_with_the_error(
    api: Api, support: Console
) -> None:
    made = requested(api)
    path = f"/console/refunds/{made['request']}"
    first = support.confirmed(
        f"{path}/review", f"{path}/decide", {"outcome": "deny", "note": "used"}
    )
    assert first.status_code == 303
    again = support.post(f"{path}/review", {"outcome": "approve_full", "note": "changed my mind"})
    assert again.status_code == 409
    assert "decided" in again.text.lower()
    late = support.post(
        f"{path}/decide", {"outcome": "approve_full", "note": "sneaky", "form_id": "other"}
    )
    assert late.status_code == 409
    assert api.get(f"/v1/refund-requests/{made['request']}").json()["status"] == "denied"
    assert api.get(f"/v1/orders/{made['order']}").json()["status"] == "paid"


@pytest.mark.parametrize(
    "path",
    [
        "/console/accounts/acc_nobody",
        "/console/refunds/rfd_nobody",
        "/console/disputes/dsp_nobody",
        "/console/disputes/dsp_nobody/evidence.pdf",
        "/console/documents/invoice/INV-1999-000001.pdf",
        "/console/documents/receipt/INV-1.pdf",
        "/console/evidence/" + "0" * 64,
        "/console/no-such-page",
    ],
)
def test_unknown_ids_answer_a_404_page(support: Console, path: str) -> None:
    answer = support.client.get(path)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1" in answer.text and "not found" in answer.text.lower()


def test_an_action_on_an_unknown_account_is_a_404_and_makes_nothing(
    api: Api, support: Console
) -> None:
    answer = support.post(
        "/console/accounts/acc_nobody/grant/review",
        {"grant_credits": "5", "grant_kind": "promo", "grant_reason": "hello"},
    )
    assert answer.status_code == 404
    answer = support.post(
        "/console/accounts/acc_nobody/grant",
        {"grant_credits": "5", "grant_kind": "promo", "grant_reason": "x", "form_id": "f"},
    )
    assert answer.status_code == 404
    actions = [row["action"] for row in api.engine.console.audit_log().rows]
    assert actions == ["signed_in", "staff_created"]


def test_an_api_key_does_not_open_the_console_nor_a_session_the_api(
    api: Api, support: Console
) -> None:
    with console_client(api.engine) as fresh:
        answer = fresh.get("/console", headers=api.headers("admin"), follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login")
    answer = support.client.get("/v1/accounts")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_support_is_refused_admin_forms(api: Api, support: Console) -> None:
    for path, data in [
        ("/console/staff", {"email": "x@example.com", "role": "admin"}),
        ("/console/keys", {"role": "admin", "label": "mine"}),
    ]:
        assert support.post(path, data).status_code == 403
    assert [m.email for m in api.engine.console.staff()] == [support.email]
    assert api.engine.console.api_keys() == [] or all(
        key.label != "mine" for key in api.engine.console.api_keys()
    )


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(engine: Engine) -> None:
    engine.console.create_staff("cookie@example.com", role="support", password=PASSWORD)
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with TestClient(
            create_app(engine, due_work_interval=None, mail_interval=None, webhook_interval=None),
            base_url=base,
        ) as client:
            token = csrf_of(client.get("/console/login").text)
            answer = client.post(
                "/console/login",
                data={"email": "cookie@example.com", "password": PASSWORD, "csrf": token},
                follow_redirects=False,
            )
            cookie = next(
                c for c in answer.headers.get_list("set-cookie") if c.startswith("cf_console=")
            )
            flags = {part.strip().lower() for part in cookie.split(";")}
            assert "httponly" in flags and "samesite=lax" in flags and "path=/console" in flags
            assert ("secure" in flags) is secure


def test_a_bad_sign_in_form_says_what_is_wrong(engine: Engine) -> None:
    engine.console.create_staff("who@example.com", role="support", password=PASSWORD)
    with console_client(engine) as client:
        token = csrf_of(client.get("/console/login").text)
        empty = client.post("/console/login", data={"email": "", "password": "", "csrf": token})
        assert empty.status_code == 422 and "Enter your email and password" in empty.text
        wrong = client.post(
            "/console/login",
            data={"email": "who@example.com", "password": "not it", "csrf": token},
        )
        assert wrong.status_code == 401
        assert 'value="who@example.com"' in wrong.text
        forged = client.post(
            "/console/login",
            data={"email": "who@example.com", "password": PASSWORD, "csrf": "forged"},
        )
        assert forged.status_code == 403
        assert "cf_console" not in client.cookies
