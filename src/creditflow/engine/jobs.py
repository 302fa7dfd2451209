"""The Python API of metered image jobs: created by the site, claimed and finished by workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from creditflow.domain.errors import InvalidRequest
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.jobs.images import inspect_image
from creditflow.services import (
    jobs,
)
from creditflow.services.jobs import JobOutput
from creditflow.services.views import (
    DownloadView,
    JobView,
    Page,
)
from creditflow.store.jobs import OutputRecord


class Jobs(Part):
    # Image jobs

    def create_job(
        self,
        account_id: str,
        *,
        operation: str,
        image: bytes,
        params: dict[str, Any] | None = None,
        channel: str | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> JobView:
        """Check the image and the entitlements, price the job and hold its cost (rules 17-20).

        The image is judged before anything else is looked at, from its bytes alone.
        """
        if self.catalog.images is None:
            raise InvalidRequest("This site takes no input images.", field="image")
        info = inspect_image(image, self.catalog.images)
        job_params = {} if params is None else params
        if not isinstance(job_params, dict):
            raise InvalidRequest("params must be a JSON object.", field="params")
        jobs.lora_names(job_params)
        return self._once(
            key_for(
                idempotency_key, "create_job", account_id, operation, job_params, channel, image
            ),
            JobView,
            lambda uow, now: jobs.create_job(
                uow,
                catalog=self.catalog,
                files=self.files,
                now=now,
                account_id=account_id,
                operation=operation,
                params=job_params,
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
        return self._plain(
            lambda uow: jobs.claim_job(
                uow,
                catalog=self.catalog,
                now=self.clock.now(),
                worker=worker,
                operations=operations,
            )
        )

    def complete_job(
        self,
        job_id: str,
        *,
        outputs: Sequence[JobOutput],
        idempotency_key: IdempotencyArg = None,
    ) -> JobView:
        return self._once(
            key_for(idempotency_key, "complete_job", job_id, list(outputs)),
            JobView,
            lambda uow, now: jobs.complete_job(
                uow, files=self.files, now=now, job_id=job_id, outputs=outputs
            ),
        )

    def fail_job(
        self, job_id: str, *, error: str, idempotency_key: IdempotencyArg = None
    ) -> JobView:
        return self._once(
            key_for(idempotency_key, "fail_job", job_id, error),
            JobView,
            lambda uow, now: jobs.fail_job(
                uow, catalog=self.catalog, now=now, job_id=job_id, error=error
            ),
        )

    def job(self, job_id: str) -> JobView:
        return self._read(lambda uow: jobs.get_job(uow, job_id=job_id))

    def jobs(
        self, account_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[JobView]:
        return self._read(
            lambda uow: jobs.list_jobs(uow, account_id=account_id, limit=limit, cursor=cursor)
        )

    def job_input(self, job_id: str) -> tuple[str, bytes]:
        """The content type and bytes of a job's input image, for its worker."""
        return self._read(lambda uow: jobs.input_of(uow, files=self.files, job_id=job_id))

    def download_output(
        self, job_id: str, n: int, *, key_id: str = "python"
    ) -> tuple[OutputRecord, bytes]:
        """One output of a job; the download is recorded (who, when) for the refund rules."""
        return self._plain(
            lambda uow: jobs.download_output(
                uow, files=self.files, now=self.clock.now(), job_id=job_id, n=n, key_id=key_id
            )
        )

    def downloads(self, job_id: str) -> list[DownloadView]:
        return self._read(lambda uow: jobs.list_downloads(uow, job_id=job_id))
