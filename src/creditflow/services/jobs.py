"""Metered image jobs: hold the cost, run on one worker, capture on success, release on failure.

Rules 17 to 20. A job is paid for only when it succeeds: its cost is held at creation, captured
when a worker completes it, and released (the credits go back to the grants they came from, and
a free training back to its cycle) when it fails or times out. Every refusal happens before
anything is held or stored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from creditflow.domain.catalog import Catalog, Operation
from creditflow.domain.errors import AccountSuspended, Conflict, InvalidRequest, NotFound
from creditflow.domain.events import EventType
from creditflow.ids import new_id
from creditflow.jobs.files import FileStore
from creditflow.jobs.images import ImageInfo
from creditflow.services import memberships
from creditflow.services.accounts import require_account
from creditflow.services.events import emit
from creditflow.services.holds import MAX_HOLD_SECONDS, capture_hold, place_hold, release_hold
from creditflow.services.pagination import check_limit, decode_int_cursor, page_of
from creditflow.services.views import (
    DownloadView,
    JobInputView,
    JobOutputView,
    JobView,
    Page,
)
from creditflow.store.jobs import DownloadRecord, JobRecord, OutputRecord
from creditflow.store.uow import UnitOfWork

JOB_TIMEOUT = "job_timeout"
QUEUE_TIMEOUT = timedelta(hours=24)
"""A job no worker has claimed in this long fails, and its credits go back."""
MAX_OUTPUTS = 16
MAX_PARAMS_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class JobOutput:
    data: bytes
    content_type: str
    name: str


def create_job(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    files: FileStore,
    now: datetime,
    account_id: str,
    operation: str,
    params: dict[str, Any],
    image: bytes,
    image_info: ImageInfo,
    channel: str | None = None,
) -> JobView:
    account = require_account(uow, account_id, for_update=True)
    if account.status != "active":
        raise AccountSuspended(
            f"Account {account.id} is suspended; it cannot start jobs.", account_id=account.id
        )
    priced = _operation(catalog, operation)
    loras = lora_names(params)
    memberships.check_loras(uow, catalog=catalog, account_id=account.id, loras=len(loras))
    job_id = new_id("job")
    cost, free_quota, cycle_start = priced.cost(len(loras)), None, None
    if priced.free_quota is not None and memberships.use_free_training(
        uow, catalog=catalog, now=now, account_id=account.id
    ):
        subscription, _ = memberships.membership(uow, catalog, account.id)
        cycle_start, _ = memberships.quota_cycle(catalog, subscription, now)
        cost, free_quota = 0, priced.free_quota
    hold_id = None
    if cost > 0:
        hold = place_hold(
            uow,
            catalog=catalog,
            now=now,
            account_id=account.id,
            credits=cost,
            channel=channel,
            reason=f"job {operation}",
            reference=job_id,
            # The job's own time-outs settle the hold; this is only a safety net.
            expires_in_seconds=MAX_HOLD_SECONDS,
        )
        hold_id = hold.id
    # Stored last: a refused job leaves no file behind.
    sha256 = files.put(image)
    record = JobRecord(
        id=job_id,
        account_id=account.id,
        operation=operation,
        params=json.dumps(params, separators=(",", ":"), sort_keys=True),
        status="queued",
        cost=cost,
        hold_id=hold_id,
        free_quota=free_quota,
        quota_cycle_start=cycle_start,
        input_sha256=sha256,
        input_format=image_info.format,
        input_width=image_info.width,
        input_height=image_info.height,
        input_bytes=image_info.bytes,
        worker=None,
        created_at=now,
        claimed_at=None,
        deadline_at=now + QUEUE_TIMEOUT,
        finished_at=None,
        error=None,
    )
    uow.jobs.add(record)
    uow.due_work.schedule(task=JOB_TIMEOUT, subject_id=job_id, due_at=now + QUEUE_TIMEOUT, now=now)
    return job_view(uow, record)


def validate_params(raw: str | None) -> dict[str, Any]:
    """`params` arrive as JSON text in a form field; they must be a JSON object."""
    if raw is None or raw.strip() == "":
        return {}
    if len(raw.encode()) > MAX_PARAMS_BYTES:
        raise InvalidRequest(f"params may be at most {MAX_PARAMS_BYTES} bytes.", field="params")
    try:
        params = json.loads(raw)
    except ValueError as error:
        raise InvalidRequest(f"params is not valid JSON: {error}.", field="params") from None
    if not isinstance(params, dict):
        raise InvalidRequest("params must be a JSON object.", field="params")
    lora_names(params)
    return params


def lora_names(params: dict[str, Any]) -> list[str]:
    loras = params.get("loras", [])
    if not isinstance(loras, list) or not all(
        isinstance(name, str) and 0 < len(name) <= 255 for name in loras
    ):
        raise InvalidRequest(
            "params.loras must be a list of LoRA names (strings of 1 to 255 characters).",
            field="params.loras",
        )
    return loras


def require_operation(catalog: Catalog, operation: str) -> Operation:
    return _operation(catalog, operation)


def claim_job(
    uow: UnitOfWork,
    *,
    catalog: Catalog,
    now: datetime,
    worker: str,
    operations: Sequence[str] | None,
) -> JobView | None:
    job = uow.jobs.claim_next(operations=operations, worker=worker, now=now)
    if job is None:
        return None
    priced = catalog.operation(job.operation)
    seconds = (
        priced.timeout_seconds if priced else Operation.model_fields["timeout_seconds"].default
    )
    deadline = now + timedelta(seconds=seconds)
    job = job.evolve(deadline_at=deadline)
    uow.jobs.save(job)
    uow.due_work.reschedule(task=JOB_TIMEOUT, subject_id=job.id, due_at=deadline, now=now)
    return job_view(uow, job)


def complete_job(
    uow: UnitOfWork,
    *,
    files: FileStore,
    now: datetime,
    job_id: str,
    outputs: Sequence[JobOutput],
) -> JobView:
    """Rule 20: success captures the hold."""
    if not outputs or len(outputs) > MAX_OUTPUTS:
        raise InvalidRequest(f"A completed job has 1 to {MAX_OUTPUTS} outputs.", field="outputs")
    job = _running(uow, job_id, "completed")
    if job.hold_id is not None:
        capture_hold(uow, now=now, hold_id=job.hold_id)
    uow.jobs.add_outputs(
        [
            OutputRecord(
                job_id=job.id,
                n=n,
                sha256=files.put(output.data),
                content_type=output.content_type,
                name=output.name,
                bytes=len(output.data),
            )
            for n, output in enumerate(outputs)
        ]
    )
    _finish(uow, job, status="succeeded", now=now)
    return job_view(uow, _require(uow, job.id))


def fail_job(
    uow: UnitOfWork, *, catalog: Catalog, now: datetime, job_id: str, error: str
) -> JobView:
    """Rule 20: failure releases the hold, so the job costs nothing."""
    job = _running(uow, job_id, "failed")
    _give_back(uow, catalog, job, now, release_reason="job failed")
    _finish(uow, job, status="failed", now=now, error=error)
    return job_view(uow, _require(uow, job.id))


def time_out_job(uow: UnitOfWork, *, catalog: Catalog, now: datetime, job_id: str) -> None:
    """Due work: a job not claimed, or not finished, in time fails and gives everything back."""
    job = uow.jobs.get(job_id, for_update=True)
    if job is None or job.status not in ("queued", "running"):
        return
    why = (
        "no worker finished it within its time-out"
        if job.status == "running"
        else f"no worker took it within {QUEUE_TIMEOUT}"
    )
    _give_back(uow, catalog, job, now, release_reason="timeout")
    _finish(uow, job, status="failed", now=now, error=f"timed out: {why}")


def input_of(uow: UnitOfWork, *, files: FileStore, job_id: str) -> tuple[str, bytes]:
    job = _require(uow, job_id)
    return f"image/{job.input_format}", files.get(job.input_sha256)


def download_output(
    uow: UnitOfWork, *, files: FileStore, now: datetime, job_id: str, n: int, key_id: str
) -> tuple[OutputRecord, bytes]:
    """Serve one output and record who took it when: refund rules ask whether it was used."""
    job = _require(uow, job_id)
    outputs = uow.jobs.outputs(job.id)
    if not 0 <= n < len(outputs):
        raise NotFound(
            f"Job {job.id} has {len(outputs)} output(s); there is no output {n}.",
            job_id=job.id,
            n=n,
        )
    output = outputs[n]
    uow.jobs.add_download(
        DownloadRecord(job_id=job.id, n=n, account_id=job.account_id, key_id=key_id, at=now)
    )
    return output, files.get(output.sha256)


def get_job(uow: UnitOfWork, *, job_id: str) -> JobView:
    return job_view(uow, _require(uow, job_id))


def list_jobs(
    uow: UnitOfWork, *, account_id: str, limit: int | None, cursor: str | None
) -> Page[JobView]:
    size = check_limit(limit)
    before = decode_int_cursor(cursor, "jobs")
    require_account(uow, account_id)
    rows = uow.jobs.page(account_id, before_seq=before, limit=size + 1)
    return page_of(rows, size=size, kind="jobs", view=lambda job: job_view(uow, job))


def list_downloads(uow: UnitOfWork, *, job_id: str) -> list[DownloadView]:
    job = _require(uow, job_id)
    return [DownloadView(n=d.n, key_id=d.key_id, at=d.at) for d in uow.jobs.downloads(job.id)]


def job_view(uow: UnitOfWork, job: JobRecord) -> JobView:
    return JobView(
        id=job.id,
        account_id=job.account_id,
        operation=job.operation,
        params=json.loads(job.params),
        status=job.status,
        cost=job.cost,
        hold_id=job.hold_id,
        free_quota_used=job.free_quota is not None,
        input=JobInputView(
            format=job.input_format,
            width=job.input_width,
            height=job.input_height,
            bytes=job.input_bytes,
            sha256=job.input_sha256,
        ),
        input_url=f"/v1/jobs/{job.id}/input",
        outputs=[
            JobOutputView(
                n=o.n,
                name=o.name,
                content_type=o.content_type,
                bytes=o.bytes,
                url=f"/v1/jobs/{job.id}/outputs/{o.n}",
            )
            for o in uow.jobs.outputs(job.id)
        ],
        error=job.error,
        created_at=job.created_at,
        claimed_at=job.claimed_at,
        deadline_at=job.deadline_at,
        finished_at=job.finished_at,
    )


def _give_back(
    uow: UnitOfWork, catalog: Catalog, job: JobRecord, now: datetime, *, release_reason: str
) -> None:
    if job.hold_id is not None:
        release_hold(uow, now=now, hold_id=job.hold_id, release_reason=release_reason)
    if job.free_quota is not None and job.quota_cycle_start is not None:
        memberships.return_free_training(
            uow, catalog=catalog, account_id=job.account_id, cycle_start=job.quota_cycle_start
        )


def _finish(
    uow: UnitOfWork, job: JobRecord, *, status: str, now: datetime, error: str | None = None
) -> None:
    if not uow.jobs.finish(job, status=status, now=now, error=error):
        raise _finished(job.id, "by another request")
    uow.due_work.cancel(task=JOB_TIMEOUT, subject_id=job.id)
    finished = EventType.JOB_SUCCEEDED if status == "succeeded" else EventType.JOB_FAILED
    emit(
        uow, finished, account_id=job.account_id, obj=job_view(uow, _require(uow, job.id)), now=now
    )


def _operation(catalog: Catalog, operation: str) -> Operation:
    priced = catalog.operation(operation)
    if priced is None:
        known = ", ".join(sorted(catalog.operations)) or "none"
        raise InvalidRequest(
            f"Unknown operation {operation!r}; this site prices {known}.", field="operation"
        )
    return priced


def _require(uow: UnitOfWork, job_id: str) -> JobRecord:
    job = uow.jobs.get(job_id)
    if job is None:
        raise NotFound(f"No job with id {job_id!r}.", job_id=job_id)
    return job


def _running(uow: UnitOfWork, job_id: str, verb: str) -> JobRecord:
    job = uow.jobs.get(job_id, for_update=True)
    if job is None:
        raise NotFound(f"No job with id {job_id!r}.", job_id=job_id)
    if job.status == "queued":
        raise Conflict(
            f"Job {job.id} is queued; a worker must claim it before it can be {verb}.",
            code="job_not_claimed",
        )
    if job.status != "running":
        raise _finished(job.id, f"as {job.status}")
    return job


def _finished(job_id: str, how: str) -> Conflict:
    return Conflict(f"Job {job_id} is finished already ({how}).", code="job_finished")
