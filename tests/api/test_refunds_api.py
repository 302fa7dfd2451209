"""Refund requests, decisions, disputes, evidence and incidents over HTTP.

The built-in catalog's policy is goodwill (14 days, 10 % / 50 %, two refunds a year).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from tests.api.conftest import Api, assert_error
from tests.images import png


def bought(api: Api, product: str = "pack_500") -> tuple[str, dict[str, Any]]:
    account = api.account()
    order = api.post(f"/v1/accounts/{account}/checkout", {"product": product}).json()
    return account, order


def test_a_request_is_assessed_at_once_and_support_decides_it(api: Api) -> None:
    account, order = bought(api)
    created = api.post(
        "/v1/refund-requests",
        {
            "order_id": order["id"],
            "reason": "unused",
            "description": "never used it",
            "evidence": [{"kind": "email", "ref": "msg-1"}],
        },
        role="service",
    )
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "in_review" and request["id"].startswith("rfd_")
    recommendation = request["recommendation"]
    assert recommendation["outcome"] == "approve_full"
    assert all(set(rule) == {"rule", "passed", "detail"} for rule in recommendation["rules"])
    assert request["due_by"] > request["created_at"]
    listed = api.get("/v1/refund-requests", status="in_review").json()["data"]
    assert [r["id"] for r in listed] == [request["id"]]
    decision = {"outcome": "approve_full", "note": "unused, as the policy says"}
    path = f"/v1/refund-requests/{request['id']}/decision"
    decided = api.post(path, decision, role="support", **{"Idempotency-Key": "d1"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    replay = api.post(path, decision, role="support", **{"Idempotency-Key": "d1"})
    assert replay.content == decided.content
    assert_error(api.post(path, decision, role="support"), 409, "refund_request_decided")
    assert api.get(f"/v1/orders/{order['id']}").json()["status"] == "refunded"
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 0
    assert (
        api.get(f"/v1/refund-requests/{request['id']}").json()["decision"]["note"]
        == (decision["note"])
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"order_id": "ord_missing", "reason": "unused"}, 404, "not_found"),
        ({"reason": "unused"}, 422, "invalid_request"),
        ({"order_id": "ORDER", "reason": "because"}, 422, "invalid_request"),
        (
            {"order_id": "ORDER", "reason": "fraud", "evidence": [{"kind": "selfie", "ref": "x"}]},
            422,
            "invalid_request",
        ),
        (
            {"order_id": "ORDER", "reason": "fraud", "evidence": [{"kind": "police_report"}]},
            422,
            "invalid_request",
        ),
        ({"order_id": "ORDER", "reason": "other", "job_ids": ["job_nope"]}, 422, "invalid_request"),
        ({"order_id": "ORDER", "reason": "other", "job_ids": "job_1"}, 422, "invalid_request"),
    ],
)
def test_bad_refund_requests_are_refused_and_change_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    _, order = bought(api)
    if body.get("order_id") == "ORDER":
        body = {**body, "order_id": order["id"]}
    assert_error(api.post("/v1/refund-requests", body, role="service"), status, code)
    assert api.get("/v1/refund-requests").json()["data"] == []


def test_one_open_request_per_order_and_bad_decisions(api: Api) -> None:
    _, order = bought(api)
    first = api.post("/v1/refund-requests", {"order_id": order["id"], "reason": "other"}).json()
    again = api.post("/v1/refund-requests", {"order_id": order["id"], "reason": "unused"})
    assert_error(again, 409, "refund_request_open")
    path = f"/v1/refund-requests/{first['id']}/decision"
    for body in (
        {"outcome": "approve_partial", "note": "no amount"},
        {"outcome": "approve_partial", "amount": 501, "note": "more than paid"},
        {"outcome": "approve_partial", "amount": 0, "note": "nothing"},
        {"outcome": "sure", "note": "x"},
        {"outcome": "deny"},
    ):
        assert_error(api.post(path, body, role="support"), 422, "invalid_request")
    assert_error(api.post(path, {"outcome": "deny", "note": "x"}, role="service"), 403, "forbidden")
    assert_error(
        api.post(
            "/v1/refund-requests/rfd_nope/decision",
            {"outcome": "deny", "note": "x"},
            role="support",
        ),
        404,
        "not_found",
    )
    assert api.get(f"/v1/refund-requests/{first['id']}").json()["status"] == "in_review"
    assert_error(api.get("/v1/refund-requests", status="lost"), 422, "invalid_request")


def test_a_dispute_on_one_of_two_orders_suspends_the_account_and_evidences_the_order(
    api: Api,
) -> None:
    account, first = bought(api)
    second = api.post(f"/v1/accounts/{account}/checkout", {"product": "pack_2500"}).json()
    job_image = {"image": ("a.png", png(), "image/png")}
    api.client.post(
        f"/v1/accounts/{account}/jobs",
        data={"operation": "upscale"},
        files=job_image,
        headers=api.headers("service"),
    )
    opened = api.post(f"/v1/orders/{second['id']}/disputes", {"reason": "fraudulent"})
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert dispute["status"] == "open" and dispute["id"].startswith("dsp_")
    assert api.get(f"/v1/accounts/{account}").json()["status"] == "suspended"
    balance = api.get(f"/v1/accounts/{account}/balance").json()
    assert balance["by_kind"] == {"purchased": 496} and balance["held"] == 4  # first order's
    spend = api.post(f"/v1/accounts/{account}/consume", {"credits": 1}, role="service")
    assert_error(spend, 403, "account_suspended")
    evidence = api.get(f"/v1/disputes/{dispute['id']}/evidence", role="support").json()
    assert evidence["order"]["id"] == second["id"]
    assert evidence["account"]["id"] == account
    assert evidence["invoice"]["number"].startswith("INV-")
    assert evidence["usage"]["granted"] == 2500 and evidence["usage"]["revoked"] == 2500
    assert [e["type"] for e in evidence["ledger"]] == ["grant", "revoke"]
    assert evidence["jobs"] == []  # the job was paid from the first order's credits
    pdf = api.client.get(
        f"/v1/disputes/{dispute['id']}/evidence.pdf", headers=api.headers("support")
    )
    assert pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert dispute["id"] in text and second["id"] in text and "revoke" in text
    assert_error(api.post(f"/v1/orders/{second['id']}/disputes", {}), 409, "dispute_open")
    won = api.post(f"/v1/disputes/{dispute['id']}/close", {"outcome": "won"}, role="support")
    assert won.json()["status"] == "won"
    assert api.get(f"/v1/accounts/{account}").json()["status"] == "active"
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 496 + 2500
    assert_error(
        api.post(f"/v1/disputes/{dispute['id']}/close", {"outcome": "lost"}, role="support"),
        409,
        "dispute_closed",
    )
    assert_error(
        api.post(f"/v1/disputes/{dispute['id']}/close", {"outcome": "draw"}, role="support"),
        422,
        "invalid_request",
    )
    assert_error(
        api.post(f"/v1/orders/{first['id']}/disputes", {}, role="support"), 403, "forbidden"
    )
    assert_error(api.get("/v1/disputes/dsp_nope"), 404, "not_found")


def test_incidents_are_recorded_resolved_and_listed(api: Api) -> None:
    created = api.post(
        "/v1/incidents",
        {"started_at": "2026-01-10T00:00:00Z", "summary": "render farm down"},
        role="support",
    )
    assert created.status_code == 201, created.text
    incident = created.json()
    resolved = api.post(
        f"/v1/incidents/{incident['id']}/resolve",
        {"ended_at": "2026-01-11T06:00:00Z"},
        role="support",
    )
    assert resolved.json()["ended_at"] == "2026-01-11T06:00:00Z"
    assert [i["id"] for i in api.get("/v1/incidents").json()["data"]] == [incident["id"]]
    for body in (
        {"started_at": "2026-01-10T00:00:00Z"},
        {"started_at": "yesterday", "summary": "x"},
        {"started_at": "2026-01-10T00:00:00Z", "ended_at": "2026-01-09T00:00:00Z", "summary": "x"},
        {"started_at": "2027-01-10T00:00:00Z", "summary": "in the future"},
    ):
        assert_error(api.post("/v1/incidents", body, role="support"), 422, "invalid_request")
    assert_error(
        api.post(
            f"/v1/incidents/{incident['id']}/resolve",
            {"ended_at": "2026-01-12T00:00:00Z"},
            role="support",
        ),
        409,
        "incident_resolved",
    )
    assert_error(
        api.post(
            "/v1/incidents", {"started_at": "2026-01-10T00:00:00Z", "summary": "x"}, role="service"
        ),
        403,
        "forbidden",
    )


def test_evidence_files_are_judged_by_their_bytes_and_referenced_by_requests(api: Api) -> None:
    _, order = bought(api)
    uploaded = api.client.post(
        "/v1/evidence-files",
        files={"file": ("report.pdf", b"%PDF-1.4\n% a police report\n", "application/pdf")},
        headers=api.headers("service"),
    )
    assert uploaded.status_code == 201, uploaded.text
    ref = uploaded.json()["ref"]
    assert ref.startswith("file:") and uploaded.json()["content_type"] == "application/pdf"
    photo = api.client.post(
        "/v1/evidence-files",
        files={"file": ("x.png", png(), "image/png")},
        headers=api.headers("service"),
    )
    assert photo.json()["content_type"] == "image/png"
    fake = api.client.post(
        "/v1/evidence-files",
        files={"file": ("x.png", b"not really", "image/png")},
        headers=api.headers("service"),
    )
    assert_error(fake, 422, "invalid_image")
    none = api.client.post(
        "/v1/evidence-files",
        data={"note": "x"},
        files={"other": ("a", b"a", "text/plain")},
        headers=api.headers("service"),
    )
    assert_error(none, 422, "invalid_request")
    missing = {"kind": "police_report", "ref": "file:" + "0" * 64}
    body = {"order_id": order["id"], "reason": "fraud", "evidence": [missing]}
    assert_error(api.post("/v1/refund-requests", body), 422, "invalid_request")
    body["evidence"] = [{"kind": "police_report", "ref": ref}]
    created = api.post("/v1/refund-requests", body)
    assert created.status_code == 201, created.text
    assert created.json()["evidence"] == [{"kind": "police_report", "ref": ref}]


def test_rule_23_a_disputed_order_is_neither_refunded_nor_approved_and_nothing_changes(
    api: Api,
) -> None:
    account, order = bought(api)
    request = api.post(
        "/v1/refund-requests", {"order_id": order["id"], "reason": "unused"}, role="service"
    ).json()
    dispute = api.post(f"/v1/orders/{order['id']}/disputes", {"reason": "fraudulent"}).json()
    before = api.get(f"/v1/orders/{order['id']}").json()
    refund = api.post(f"/v1/orders/{order['id']}/refunds", {"reason": "x"}, role="support")
    assert assert_error(refund, 409, "order_disputed")["details"]["dispute_id"] == dispute["id"]
    decision = {"outcome": "approve_full", "note": "unused"}
    approval = api.post(f"/v1/refund-requests/{request['id']}/decision", decision, role="support")
    assert_error(approval, 409, "order_disputed")
    assert api.get(f"/v1/orders/{order['id']}").json() == before
    assert api.get(f"/v1/refund-requests/{request['id']}").json()["status"] == "in_review"
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 0  # revoked


def test_money_in_a_recommendation_and_a_decision_is_an_amount_with_its_currency(
    api: Api,
) -> None:
    _, order = bought(api)
    request = api.post(
        "/v1/refund-requests", {"order_id": order["id"], "reason": "unused"}, role="service"
    ).json()
    assert request["recommendation"]["amount"] == order["total"]
    decided = api.post(
        f"/v1/refund-requests/{request['id']}/decision",
        {"outcome": "approve_partial", "amount": 100, "note": "half used"},
        role="support",
    ).json()
    assert decided["decision"]["amount"] == {"amount": 100, "currency": order["total"]["currency"]}
    refund = api.get(f"/v1/refunds/{decided['refund_id']}").json()
    assert (refund["status"], refund["amount"]) == ("succeeded", decided["decision"]["amount"])
    dispute = api.post(f"/v1/orders/{order['id']}/disputes", {}).json()
    assert dispute["amount"] == order["total"]
    assert set(dispute["fee"]) == {"amount", "currency"}
