"""The Python API for metered image jobs: a mixin of `creditflow.Engine`.

Kept in its own module so each stays readable; it relies on the engine's `_write`, `context`,
`catalog` and `files`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from creditflow.domain.errors import InvalidRequest
from creditflow.engine_parts import EngineParts
from creditflow.jobs.images import inspect_image
from creditflow.services import jobs
from creditflow.services.jobs import JobOutput
from creditflow.services.views import DownloadView, JobView, Page

if TYPE_CHECKING:
    from creditflow.jobs.files import FileStore
    from creditflow.services.idempotency import IdempotencyKey
    from creditflow.store.jobs import OutputRecord


class JobMethods(EngineParts):
    files: FileStore

    def create_job(
        self,
        account_id: str,
        *,
        operation: str,
        image: bytes,
        params: dict[str, Any] | None = None,
        channel: str | None = None,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> JobView:
        """Check the image and the entitlements, price the job and hold its cost (rules 17-20).

        The image is judged before anything else is looked at, from its bytes alone.
        """
        if self.catalog.images is None:
            raise InvalidRequest("This site takes no input images.", field="image")
        info = inspect_image(image, self.catalog.images)
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise InvalidRequest("params must be a JSON object.", field="params")
        jobs.lora_names(params)
        args: dict[str, Any] = {
            "account_id": account_id,
            "operation": operation,
            "params": params,
            "channel": channel,
            "image_sha256": hashlib.sha256(image).hexdigest(),
        }
        return self._write(
            "create_job",
            args,
            idempotency_key,
            JobView,
            lambda uow, now: jobs.create_job(
                uow,
                catalog=self.catalog,
                files=self.files,
                now=now,
                account_id=account_id,
                operation=operation,
                params=params,
                image=image,
                image_info=info,
                channel=channel,
            ),
        )

    def claim_job(
        self, *, worker: str = "python", operations: Sequence[str] | None = None
    ) -> JobView | None:
        """The oldest queued job (of these operations), now running for `worker`; or None."""
        if operations is not None and (
            isinstance(operations, str) or not all(isinstance(o, str) for o in operations)
        ):
            raise InvalidRequest("operations must be a list of names.", field="operations")
        return self.context.run_plain(
            lambda uow: jobs.claim_job(
                uow,
                catalog=self.catalog,
                now=self.context.clock.now(),
                worker=worker,
                operations=operations,
            )
        )

    def complete_job(
        self,
        job_id: str,
        *,
        outputs: Sequence[JobOutput],
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> JobView:
        args = {"job_id": job_id, "outputs": [hashlib.sha256(o.data).hexdigest() for o in outputs]}
        return self._write(
            "complete_job",
            args,
            idempotency_key,
            JobView,
            lambda uow, now: jobs.complete_job(
                uow, files=self.files, now=now, job_id=job_id, outputs=outputs
            ),
        )

    def fail_job(
        self,
        job_id: str,
        *,
        error: str,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> JobView:
        return self._write(
            "fail_job",
            {"job_id": job_id, "error": error},
            idempotency_key,
            JobView,
            lambda uow, now: jobs.fail_job(
                uow, catalog=self.catalog, now=now, job_id=job_id, error=error
            ),
        )

    def job(self, job_id: str) -> JobView:
        with self.context.reading() as uow:
            return jobs.get_job(uow, job_id=job_id)

    def jobs(
        self, account_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[JobView]:
        with self.context.reading() as uow:
            return jobs.list_jobs(uow, account_id=account_id, limit=limit, cursor=cursor)

    def job_input(self, job_id: str) -> tuple[str, bytes]:
        """The content type and bytes of a job's input image, for its worker."""
        with self.context.reading() as uow:
            return jobs.input_of(uow, files=self.files, job_id=job_id)

    def download_output(
        self, job_id: str, n: int, *, key_id: str = "python"
    ) -> tuple[OutputRecord, bytes]:
        """One output of a job; the download is recorded (who, when) for the refund rules."""
        return self.context.run_plain(
            lambda uow: jobs.download_output(
                uow,
                files=self.files,
                now=self.context.clock.now(),
                job_id=job_id,
                n=n,
                key_id=key_id,
            )
        )

    def downloads(self, job_id: str) -> list[DownloadView]:
        with self.context.reading() as uow:
            return jobs.list_downloads(uow, job_id=job_id)
