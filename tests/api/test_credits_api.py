"""The Accounts and Credits sections of the HTTP contract, and their bad inputs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error


def test_an_account_is_created_and_found_by_id_and_external_id(api: Api) -> None:
    created = api.post("/v1/accounts", {"external_id": "u-1", "email": "a@b.co", "country": "DE"})
    assert created.status_code == 201
    account = created.json()
    assert account["id"].startswith("acc_")
    assert (account["status"], account["country"]) == ("active", "DE")
    assert account["created_at"].endswith("Z")
    assert api.get(f"/v1/accounts/{account['id']}").json() == account
    assert api.get("/v1/accounts", external_id="u-1").json() == {
        "data": [account],
        "next_cursor": None,
    }
    again = api.post("/v1/accounts", {"external_id": "u-1", "email": "c@d.co"})
    assert_error(again, 409, "account_exists")


def test_grant_consume_and_balance_follow_the_contract(api: Api) -> None:
    account = api.account()
    grant = api.post(
        f"/v1/accounts/{account}/grants", {"credits": 100, "kind": "purchased", "reason": "pack"}
    )
    assert grant.status_code == 201
    assert grant.json()["id"].startswith("grt_")
    spend = api.post(
        f"/v1/accounts/{account}/consume", {"credits": 30, "reference": "job-9"}, role="service"
    )
    assert spend.status_code == 200
    body = spend.json()
    assert body["transaction_id"].startswith("txn_")
    assert body["credits"] == 30
    assert body["allocations"] == [
        {"grant_id": grant.json()["id"], "kind": "purchased", "credits": 30}
    ]
    assert body["balance"] == {"available": 70}
    balance = api.get(f"/v1/accounts/{account}/balance").json()
    assert (balance["available"], balance["held"], balance["by_kind"]) == (70, 0, {"purchased": 70})
    assert set(balance["grants"][0]) >= {
        "id",
        "kind",
        "remaining",
        "expires_at",
        "priority",
        "channel",
        "source",
    }


def test_overspending_answers_402_with_available_and_requested(api: Api) -> None:
    account = api.account(10)
    error = assert_error(
        api.post(f"/v1/accounts/{account}/consume", {"credits": 11}), 402, "insufficient_credits"
    )
    assert error["details"] == {"available": 10, "requested": 11}
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 10


def test_holds_capture_and_release_over_http(api: Api) -> None:
    account = api.account(100)
    hold = api.post(f"/v1/accounts/{account}/holds", {"credits": 40}, role="service")
    assert hold.status_code == 201
    body = hold.json()
    assert body["id"].startswith("hld_") and body["status"] == "held"
    assert body["expires_at"].endswith("Z")
    assert sum(a["credits"] for a in body["allocations"]) == 40
    assert api.get(f"/v1/accounts/{account}/balance").json()["held"] == 40
    captured = api.post(f"/v1/holds/{body['id']}/capture", {"credits": 10})
    assert captured.json()["status"] == "captured"
    assert_error(api.post(f"/v1/holds/{body['id']}/release"), 409, "hold_not_active")
    second = api.post(f"/v1/accounts/{account}/holds", {"credits": 5}).json()
    assert api.post(f"/v1/holds/{second['id']}/release").json()["status"] == "released"
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 90


def test_the_ledger_lists_newest_first_with_cursor_pages(api: Api) -> None:
    account = api.account(100)
    for _ in range(5):
        api.post(f"/v1/accounts/{account}/consume", {"credits": 1})
    first = api.get(f"/v1/accounts/{account}/ledger", limit=4).json()
    assert [e["type"] for e in first["data"]] == ["consume"] * 4
    assert first["data"][0]["balance_after"] == 95
    second = api.get(f"/v1/accounts/{account}/ledger", limit=4, cursor=first["next_cursor"]).json()
    assert [e["type"] for e in second["data"]] == ["consume", "grant"]
    assert second["next_cursor"] is None
    entries = first["data"] + second["data"]
    assert sum(e["credits"] for e in entries) == 95
    assert set(entries[0]) >= {
        "id",
        "at",
        "type",
        "credits",
        "grant_id",
        "kind",
        "reason",
        "reference",
        "balance_after",
    }


def test_an_idempotent_post_replays_the_first_answer_byte_for_byte(api: Api) -> None:
    account = api.account(100)
    path = f"/v1/accounts/{account}/consume"
    first = api.post(path, {"credits": 7}, **{"Idempotency-Key": "abc"})
    again = api.post(path, {"credits": 7}, **{"Idempotency-Key": "abc"})
    assert again.status_code == first.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 93
    reused = api.post(path, {"credits": 8}, **{"Idempotency-Key": "abc"})
    assert_error(reused, 409, "idempotency_key_reused")
    created = api.post(
        "/v1/accounts", {"external_id": "idem", "email": "i@x.io"}, **{"Idempotency-Key": "acct"}
    )
    replay = api.post(
        "/v1/accounts", {"external_id": "idem", "email": "i@x.io"}, **{"Idempotency-Key": "acct"}
    )
    assert (created.status_code, replay.status_code) == (201, 201)
    assert replay.content == created.content


BAD_CREDITS: list[Any] = [0, -1, 1.5, "10", None, True, 10**12 + 1, [], {}]


@pytest.mark.parametrize("credits", BAD_CREDITS)
def test_bad_credits_are_refused_with_422_and_change_nothing(api: Api, credits: Any) -> None:
    account = api.account(100)
    for path in (f"/v1/accounts/{account}/consume", f"/v1/accounts/{account}/holds"):
        error = assert_error(api.post(path, {"credits": credits}), 422, "invalid_request")
        assert "credits" in error["message"]
    grant = api.post(
        f"/v1/accounts/{account}/grants", {"credits": credits, "kind": "promo", "reason": "x"}
    )
    assert_error(grant, 422, "invalid_request")
    assert len(api.get(f"/v1/accounts/{account}/ledger").json()["data"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"credits": 5, "kind": "gold", "reason": "x"}, "kind"),
        ({"credits": 5, "kind": "promo", "reason": "x", "channel": "tv"}, "channel"),
        (
            {"credits": 5, "kind": "promo", "reason": "x", "expires_at": "2000-01-01T00:00:00Z"},
            "expires_at",
        ),
        ({"credits": 5, "kind": "promo", "reason": "x", "expires_at": "tomorrow"}, "expires_at"),
        ({"credits": 5, "kind": "promo", "reason": "x", "priority": -1}, "priority"),
        ({"credits": 5, "kind": "promo"}, "reason"),
        ({"credits": 5, "kind": "promo", "reason": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_grants_are_refused_naming_the_field(api: Api, body: Any, field: str) -> None:
    account = api.account()
    error = assert_error(api.post(f"/v1/accounts/{account}/grants", body), 422, "invalid_request")
    assert field in error["message"] or error["details"].get("field") == field
    assert api.get(f"/v1/accounts/{account}/ledger").json()["data"] == []


def test_unknown_channel_on_consume_and_balance_is_refused(api: Api) -> None:
    account = api.account(10)
    assert_error(
        api.post(f"/v1/accounts/{account}/consume", {"credits": 1, "channel": "any"}),
        422,
        "invalid_request",
    )
    assert_error(api.get(f"/v1/accounts/{account}/balance", channel="tv"), 422, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        {"external_id": "", "email": "a@b.co"},
        {"external_id": "x", "email": "not-an-email"},
        {"external_id": "x", "email": "a@b.co", "country": "Germany"},
        {"email": "a@b.co"},
        {"external_id": 5, "email": "a@b.co"},
        [],
    ],
)
def test_bad_accounts_are_refused(api: Api, body: Any) -> None:
    assert_error(api.post("/v1/accounts", body), 422, "invalid_request")
    assert api.get("/v1/accounts").json()["data"] == []


def test_unknown_ids_answer_404(api: Api) -> None:
    assert_error(api.get("/v1/accounts/acc_nope"), 404, "not_found")
    assert_error(api.get("/v1/accounts/acc_nope/balance"), 404, "not_found")
    assert_error(api.get("/v1/accounts/acc_nope/ledger"), 404, "not_found")
    assert_error(api.post("/v1/accounts/acc_nope/consume", {"credits": 1}), 404, "not_found")
    assert_error(api.post("/v1/accounts/acc_nope/holds", {"credits": 1}), 404, "not_found")
    assert_error(
        api.post("/v1/accounts/acc_nope/grants", {"credits": 1, "kind": "promo", "reason": "x"}),
        404,
        "not_found",
    )
    assert_error(api.get("/v1/holds/hld_nope"), 404, "not_found")
    assert_error(api.post("/v1/holds/hld_nope/capture"), 404, "not_found")
    assert_error(api.post("/v1/holds/hld_nope/release"), 404, "not_found")
    assert_error(api.get("/v1/nowhere"), 404, "not_found")


def test_missing_or_wrong_keys_answer_401_and_wrong_roles_403(api: Api) -> None:
    account = api.account(10)
    path = f"/v1/accounts/{account}/consume"
    assert_error(api.client.post(path, json={"credits": 1}), 401, "unauthorized")
    wrong = {"Authorization": "Bearer not-a-key"}
    assert_error(api.client.post(path, json={"credits": 1}, headers=wrong), 401, "unauthorized")
    basic = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert_error(api.client.post(path, json={"credits": 1}, headers=basic), 401, "unauthorized")
    assert_error(api.post(path, {"credits": 1}, role="worker"), 403, "forbidden")
    assert_error(api.post(path, {"credits": 1}, role="support"), 403, "forbidden")
    grant = {"credits": 1, "kind": "promo", "reason": "x"}
    assert_error(
        api.post(f"/v1/accounts/{account}/grants", grant, role="service"), 403, "forbidden"
    )
    assert api.post(f"/v1/accounts/{account}/grants", grant, role="support").status_code == 201
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 11


def test_malformed_json_answers_400(api: Api) -> None:
    account = api.account(10)
    response = api.client.post(
        f"/v1/accounts/{account}/consume",
        content=b'{"credits": 1,',
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert_error(response, 400, "malformed_json")


def test_bodies_over_one_mebibyte_answer_413(api: Api) -> None:
    account = api.account(10)
    big = b'{"credits": 1, "reason": "' + b"x" * (1024 * 1024) + b'"}'
    response = api.client.post(
        f"/v1/accounts/{account}/consume",
        content=big,
        headers={**api.headers(), "Content-Type": "application/json"},
    )
    assert_error(response, 413, "body_too_large")
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 10


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"cursor": "garbage"}]
)
def test_bad_pagination_is_refused(api: Api, params: dict[str, Any]) -> None:
    account = api.account(10)
    assert_error(api.get(f"/v1/accounts/{account}/ledger", **params), 422, "invalid_request")


def test_capture_more_than_held_is_refused(api: Api) -> None:
    account = api.account(10)
    hold = api.post(f"/v1/accounts/{account}/holds", {"credits": 5}).json()
    assert_error(
        api.post(f"/v1/holds/{hold['id']}/capture", {"credits": 6}), 422, "invalid_request"
    )
    assert_error(
        api.post(f"/v1/holds/{hold['id']}/capture", {"credits": "all"}), 422, "invalid_request"
    )
    assert api.get(f"/v1/holds/{hold['id']}").json()["status"] == "held"


def test_healthz_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    account = api.account(50)
    api.post(f"/v1/accounts/{account}/consume", {"credits": 20})
    text = api.client.get("/metrics").text
    assert 'creditflow_credits_granted_total{kind="purchased"} 50.0' in text
    assert 'creditflow_credits_spent_total{kind="purchased"} 20.0' in text
    assert 'route="/v1/accounts/{account_id}/consume"' in text
    assert "creditflow_http_request_duration_seconds_bucket" in text


def test_the_test_clock_is_absent_without_test_clock_mode(api: Api) -> None:
    # The `engine` fixture runs on a test clock, so the routes exist here;
    # tests/e2e checks that a server without --test-clock answers 404.
    now = api.get("/v1/test-clock").json()["now"]
    moved = api.post("/v1/test-clock/advance", {"seconds": 60}).json()
    assert moved["now"] > now
    assert_error(api.post("/v1/test-clock/advance", {"seconds": -1}), 422, "invalid_request")
    assert_error(
        api.post("/v1/test-clock/advance", {"to": "2000-01-01T00:00:00Z"}), 422, "invalid_request"
    )
    assert_error(api.post("/v1/test-clock/advance", {}), 422, "invalid_request")


def test_a_body_that_is_not_sent_as_json_is_refused_with_415(api: Api) -> None:
    account = api.account(10)
    response = api.client.post(
        f"/v1/accounts/{account}/consume",
        content=b"credits=1",
        headers={**api.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    error = assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 10
