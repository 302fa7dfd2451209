"""Jobs over HTTP: multipart creation, the worker protocol and downloads (rules 17 to 20).

The built-in example catalog: upscale costs 4 credits, generate 10 plus 2 per LoRA; images may
be png, jpeg, bmp, webp or gif, at most 4096 pixels a side and 10 MiB.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.api.conftest import Api, assert_error
from tests.images import image_bytes, png


def create(
    api: Api,
    account: str,
    *,
    operation: str | None = "upscale",
    params: Any = None,
    files: Any = None,
    role: str = "service",
    **headers: str,
) -> Any:
    data = {} if operation is None else {"operation": operation}
    if params is not None:
        data["params"] = params if isinstance(params, str) else json.dumps(params)
    if files is None:
        files = {"image": ("photo.png", png(), "image/png")}
    return api.client.post(
        f"/v1/accounts/{account}/jobs", data=data, files=files, headers=api.headers(role, **headers)
    )


def untouched(api: Api, account: str, credits: int = 100) -> None:
    balance = api.get(f"/v1/accounts/{account}/balance").json()
    assert (balance["available"], balance["held"]) == (credits, 0)
    assert api.get(f"/v1/accounts/{account}/jobs").json()["data"] == []


def test_a_job_runs_from_upload_to_download_over_http(api: Api) -> None:
    account = api.account(100)
    response = create(api, account, params={"scale": 2})
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["id"].startswith("job_")
    assert (job["status"], job["cost"], job["free_quota_used"]) == ("queued", 4, False)
    assert job["hold_id"].startswith("hld_")
    assert api.get(f"/v1/accounts/{account}/balance").json()["held"] == 4

    claim = api.post("/v1/jobs/claim", {"operations": ["upscale"]}, role="worker")
    assert claim.status_code == 200, claim.text
    assert claim.json()["id"] == job["id"]
    assert api.post("/v1/jobs/claim", {}, role="worker").status_code == 204
    source = api.client.get(claim.json()["input_url"], headers=api.headers("worker"))
    assert source.content == png() and source.headers["content-type"] == "image/png"

    result = png((128, 96))
    body = {
        "outputs": [
            {
                "content_type": "image/png",
                "name": "up.png",
                "data": base64.b64encode(result).decode(),
            }
        ]
    }
    done = api.post(f"/v1/jobs/{job['id']}/complete", body, role="worker")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "succeeded"
    again = api.post(f"/v1/jobs/{job['id']}/complete", body, role="worker")
    assert_error(again, 409, "job_finished")

    output = api.client.get(f"/v1/jobs/{job['id']}/outputs/0", headers=api.headers("service"))
    assert output.status_code == 200 and output.content == result
    assert output.headers["content-type"] == "image/png"
    downloads = api.get(f"/v1/jobs/{job['id']}/downloads").json()["data"]
    assert len(downloads) == 1 and downloads[0]["n"] == 0
    assert_error(api.get(f"/v1/jobs/{job['id']}/outputs/1"), 404, "not_found")
    assert api.get(f"/v1/accounts/{account}/balance").json()["available"] == 96


def test_a_failed_job_gives_its_credits_back_over_http(api: Api) -> None:
    account = api.account(100)
    job = create(api, account, operation="generate", params={"loras": ["x"]}).json()
    assert job["cost"] == 12
    api.post("/v1/jobs/claim", role="worker")
    failed = api.post(f"/v1/jobs/{job['id']}/fail", {"error": "GPU fell over"}, role="worker")
    assert failed.status_code == 200, failed.text
    assert (failed.json()["status"], failed.json()["error"]) == ("failed", "GPU fell over")
    balance = api.get(f"/v1/accounts/{account}/balance").json()
    assert (balance["available"], balance["held"]) == (100, 0)
    release = api.get(f"/v1/accounts/{account}/ledger").json()["data"][0]
    assert (release["type"], release["reference"]) == ("release", job["id"])


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (image_bytes("TIFF"), "unsupported_format"),
        (png((4097, 8)), "dimensions_too_large"),
        (png()[:60], "corrupt"),
    ],
)
def test_a_bad_image_answers_422_with_its_reason_and_holds_nothing(
    api: Api, image: bytes, reason: str
) -> None:
    account = api.account(100)
    response = create(api, account, files={"image": ("looks.png", image, "image/png")})
    error = assert_error(response, 422, "invalid_image")
    assert error["details"]["reason"] == reason
    untouched(api, account)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"files": {"other": ("a.txt", b"x", "text/plain")}}, "other"),  # no image, a stray file
        (
            {
                "files": [
                    ("image", ("a.png", png(), "image/png")),
                    ("image", ("b.png", png(), "image/png")),
                ]
            },
            "image",
        ),
        ({"files": {"image": (None, "not a file")}}, "image"),
        ({"params": "[1, 2]"}, "params"),
        ({"params": "{not json"}, "params"),
        ({"operation": "paint"}, "operation"),
        ({"operation": None}, "operation"),
        ({"operation": "generate", "params": {"loras": [1, 2]}}, "params.loras"),
        ({"operation": "generate", "params": {"loras": "one"}}, "params.loras"),
    ],
)
def test_malformed_job_requests_answer_422_and_change_nothing(
    api: Api, kwargs: dict[str, Any], field: str
) -> None:
    account = api.account(100)
    error = assert_error(create(api, account, **kwargs), 422, "invalid_request")
    assert error["details"].get("field") == field, error
    untouched(api, account)


def test_a_missing_image_is_named(api: Api) -> None:
    account = api.account(100)
    response = api.client.post(
        f"/v1/accounts/{account}/jobs",
        data={"operation": "upscale"},
        files={"unused": ("", b"", "application/octet-stream")},
        headers=api.headers("service"),
    )
    assert response.status_code == 422
    no_files = api.client.post(
        f"/v1/accounts/{account}/jobs",
        content=b"operation=upscale",
        headers={**api.headers("service"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(no_files, 422, "invalid_request")
    untouched(api, account)


def test_job_limits_and_rights_over_http(api: Api) -> None:
    account = api.account(3)
    assert_error(create(api, account), 402, "insufficient_credits")
    too_many = create(api, account, operation="generate", params={"loras": ["a", "b"]})
    assert_error(too_many, 403, "entitlement_exceeded")
    assert_error(create(api, account, role="worker"), 403, "forbidden")
    assert_error(create(api, "acc_missing"), 404, "not_found")
    untouched(api, account, 3)
    assert_error(api.post("/v1/jobs/claim", role="service"), 403, "forbidden")
    assert_error(
        api.post("/v1/jobs/claim", {"operations": "upscale"}, role="worker"), 422, "invalid_request"
    )
    assert_error(
        api.post("/v1/jobs/job_nope/fail", {"error": "x"}, role="worker"), 404, "not_found"
    )
    assert_error(api.get("/v1/jobs/job_nope"), 404, "not_found")


def test_worker_bodies_are_checked(api: Api) -> None:
    account = api.account(100)
    job = create(api, account).json()
    assert_error(
        api.post(f"/v1/jobs/{job['id']}/fail", {"error": "x"}, role="worker"),
        409,
        "job_not_claimed",
    )
    api.post("/v1/jobs/claim", role="worker")
    bad_outputs: list[Any] = [
        {"outputs": []},
        {"outputs": [{"content_type": "image/png", "name": "a.png", "data": "***"}]},
        {"outputs": [{"content_type": "image/png", "data": "AAAA"}]},
        {},
    ]
    for body in bad_outputs:
        response = api.post(f"/v1/jobs/{job['id']}/complete", body, role="worker")
        assert_error(response, 422, "invalid_request")
    assert_error(
        api.post(f"/v1/jobs/{job['id']}/fail", {"error": ""}, role="worker"), 422, "invalid_request"
    )
    assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "running"
    assert api.get(f"/v1/accounts/{account}/balance").json()["held"] == 4


def test_a_job_replayed_with_its_idempotency_key_is_created_once(api: Api) -> None:
    account = api.account(100)
    first = create(api, account, **{"Idempotency-Key": "job-1"})
    again = create(api, account, **{"Idempotency-Key": "job-1"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert len(api.get(f"/v1/accounts/{account}/jobs").json()["data"]) == 1
    other = create(api, account, operation="enhance", **{"Idempotency-Key": "job-1"})
    assert_error(other, 409, "idempotency_key_reused")
