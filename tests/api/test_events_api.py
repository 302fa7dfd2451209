"""Events, webhook endpoints, deliveries and alerts over HTTP, with their bad inputs (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error


def test_events_are_listed_newest_first_filtered_and_paged(api: Api) -> None:
    first = api.account(credits=100)
    api.account()
    listed = api.get("/v1/events", role="service", account_id=first).json()
    assert [e["type"] for e in listed["data"]] == ["credits.granted", "account.created"]
    assert all(e["account_id"] == first for e in listed["data"])
    one = api.get("/v1/events", role="support", type="account.created", limit=1).json()
    assert len(one["data"]) == 1 and one["next_cursor"]
    rest = api.get("/v1/events", type="account.created", cursor=one["next_cursor"]).json()
    assert {e["id"] for e in rest["data"]}.isdisjoint({one["data"][0]["id"]})
    event = listed["data"][1]
    assert api.get(f"/v1/events/{event['id']}").json() == event
    assert event["data"]["object"] == api.get(f"/v1/accounts/{first}").json()


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"type": "account.deleted"}, 422, "invalid_request"),
        ({"limit": 0}, 422, "invalid_request"),
        ({"limit": 501}, 422, "invalid_request"),
        ({"cursor": "not-ours"}, 422, "invalid_request"),
    ],
)
def test_bad_event_queries_are_refused(
    api: Api, params: dict[str, Any], status: int, code: str
) -> None:
    assert_error(api.get("/v1/events", **params), status, code)


def test_events_need_a_key_and_a_role_and_unknown_ids_are_404(api: Api) -> None:
    assert_error(api.client.get("/v1/events"), 401, "unauthorized")
    assert_error(api.get("/v1/events", role="worker"), 403, "forbidden")
    assert_error(api.get("/v1/events/evt_nope"), 404, "not_found")
    assert_error(api.post("/v1/events/evt_nope/redeliver"), 404, "not_found")


def test_endpoints_are_made_shown_once_changed_rotated_and_deleted(api: Api) -> None:
    made = api.post(
        "/v1/webhook-endpoints",
        {"url": "https://hooks.example.com/in", "events": ["order.paid"], "description": "x"},
    )
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["id"].startswith("whe_") and endpoint["secret"].startswith("whsec_")
    assert endpoint["status"] == "enabled"
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    shown = api.get(path).json()
    assert shown["secret"] is None and shown["events"] == ["order.paid"]
    assert [e["id"] for e in api.get("/v1/webhook-endpoints").json()["data"]] == [endpoint["id"]]
    changed = api.client.patch(
        path, json={"events": ["*"], "status": "disabled"}, headers=api.headers()
    ).json()
    assert (changed["events"], changed["status"]) == (["*"], "disabled")
    rotated = api.post(f"{path}/rotate-secret").json()
    assert rotated["secret"] not in (None, endpoint["secret"])
    assert api.get(f"{path}/deliveries").json() == {"data": [], "next_cursor": None}
    deleted = api.client.delete(path, headers=api.headers())
    assert deleted.status_code == 200
    assert_error(api.get(path), 404, "not_found")
    assert api.get("/v1/webhook-endpoints").json()["data"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://hooks.example.com/in", "events": ["*"]}, "url"),
        ({"url": "https://127.0.0.1/in", "events": ["*"]}, "url"),
        ({"url": "https://10.1.2.3/in", "events": ["*"]}, "url"),
        ({"url": "https://169.254.169.254/latest", "events": ["*"]}, "url"),
        ({"url": "https://[::1]/in", "events": ["*"]}, "url"),
        ({"url": "https://localhost/in", "events": ["*"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/", "events": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2040, "events": ["*"]}, None),
        ({"url": "https://hooks.example.com/in", "events": ["order.lost"]}, "events.0"),
        ({"url": "https://hooks.example.com/in", "events": []}, "events"),
        ({"url": "https://hooks.example.com/in", "events": ["*", "order.paid"]}, "events"),
        ({"url": "https://hooks.example.com/in"}, None),
        ({"url": 7, "events": ["*"]}, None),
    ],
)
def test_bad_endpoints_are_refused_and_nothing_is_made(
    api: Api, body: dict[str, Any], field: str | None
) -> None:
    error = assert_error(api.post("/v1/webhook-endpoints", body), 422, "invalid_request")
    if field is not None:
        assert error["details"]["field"] == field
    assert api.get("/v1/webhook-endpoints").json()["data"] == []


def test_endpoint_changes_refused_change_nothing_and_only_admins_manage_endpoints(
    api: Api,
) -> None:
    endpoint = api.post(
        "/v1/webhook-endpoints", {"url": "https://hooks.example.com/in", "events": ["*"]}
    ).json()
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    for body in (
        {"status": "paused"},
        {"url": "http://hooks.example.com/"},
        {"events": ["nope"]},
        {"secret": "mine"},
    ):
        answer = api.client.patch(path, json=body, headers=api.headers())
        assert_error(answer, 422, "invalid_request")
    assert api.get(path).json() == {**endpoint, "secret": None}
    unknown = api.client.patch(
        "/v1/webhook-endpoints/whe_nope", json={"status": "disabled"}, headers=api.headers()
    )
    assert_error(unknown, 404, "not_found")
    assert_error(
        api.client.delete("/v1/webhook-endpoints/whe_nope", headers=api.headers()), 404, "not_found"
    )
    assert_error(api.post("/v1/webhook-endpoints/whe_nope/rotate-secret"), 404, "not_found")
    assert_error(api.get("/v1/webhook-endpoints/whe_nope/deliveries"), 404, "not_found")
    body = {"url": "https://hooks.example.com/x", "events": ["*"]}
    assert_error(api.post("/v1/webhook-endpoints", body, role="service"), 403, "forbidden")
    assert_error(api.get("/v1/webhook-endpoints", role="support"), 403, "forbidden")


def test_an_event_is_redelivered_to_the_endpoints_that_take_it(api: Api) -> None:
    account = api.account()
    [created] = api.get("/v1/events", account_id=account).json()["data"]
    assert_error(api.post(f"/v1/events/{created['id']}/redeliver"), 422, "invalid_request")
    endpoint = api.post(
        "/v1/webhook-endpoints", {"url": "https://hooks.example.com/in", "events": ["*"]}
    ).json()
    again = api.post(f"/v1/events/{created['id']}/redeliver", {"endpoint_id": endpoint["id"]})
    assert again.status_code == 202 and again.json()["id"] == created["id"]
    [delivery] = api.get(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()["data"]
    assert (delivery["event_id"], delivery["status"]) == (created["id"], "pending")
    missing = api.post(f"/v1/events/{created['id']}/redeliver", {"endpoint_id": "whe_nope"})
    assert_error(missing, 404, "not_found")


def test_an_accounts_alert_threshold_is_set_read_and_checked(api: Api) -> None:
    account = api.account()
    path = f"/v1/accounts/{account}/alerts"
    assert api.get(path).json() == {"account_id": account, "low_balance": None, "source": "catalog"}
    put = api.client.put(path, json={"low_balance": 300}, headers=api.headers("service"))
    assert put.status_code == 200, put.text
    assert put.json() == {"account_id": account, "low_balance": 300, "source": "account"}
    for bad in ({"low_balance": -1}, {"low_balance": "300"}, {}, {"low_balance": 1, "x": 2}):
        refused = api.client.put(path, json=bad, headers=api.headers("service"))
        assert_error(refused, 422, "invalid_request")
    assert api.get(path).json()["low_balance"] == 300
    grant = {"credits": 500, "kind": "purchased", "reason": "test"}
    api.post(f"/v1/accounts/{account}/grants", grant)
    api.post(f"/v1/accounts/{account}/consume", {"credits": 300}, role="service")
    [low] = api.get("/v1/events", type="credits.low", account_id=account).json()["data"]
    assert low["data"]["object"]["available"] == 200
    unknown = api.client.put(
        "/v1/accounts/acc_nope/alerts", json={"low_balance": 5}, headers=api.headers("service")
    )
    assert_error(unknown, 404, "not_found")
