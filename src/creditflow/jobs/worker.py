"""The worker: claims a site's queued jobs over HTTP, runs them through processors, reports back.

It runs wherever the GPU (or, for the built-in processors, any machine) is, and needs nothing
but the site's URL and a worker key: no database access, so a compromised worker can at worst
complete or fail jobs it claimed. Credits move on the server when a job completes or fails.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from creditflow.jobs.processors import PROCESSORS, Output, process

__all__ = ["ClaimedJob", "Worker", "WorkerProtocolError"]

logger = logging.getLogger(__name__)

# complete/fail are retried this many times on network errors and 5xx answers: the work is
# already done, and the Idempotency-Key makes a repeat harmless if the first call did land.
_REPORT_ATTEMPTS = 3


class WorkerProtocolError(Exception):
    """The server answered with something the protocol does not allow (a malformed job)."""


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """The fields of a claimed job the worker relies on, checked once at the boundary."""

    id: str
    operation: str
    params: Mapping[str, Any]
    input_url: str | None

    @classmethod
    def from_json(cls, payload: object) -> ClaimedJob:
        if not isinstance(payload, dict):
            raise WorkerProtocolError("The claimed job is not a JSON object.")
        job_id = payload.get("id")
        operation = payload.get("operation")
        params = payload.get("params") or {}
        input_url = payload.get("input_url")
        if not isinstance(job_id, str) or not job_id:
            raise WorkerProtocolError("The claimed job has no id.")
        if not isinstance(operation, str):
            raise WorkerProtocolError(f"The claimed job {job_id} has no operation.")
        if not isinstance(params, dict):
            raise WorkerProtocolError(f"The params of job {job_id} are not a JSON object.")
        if input_url is not None and (
            not isinstance(input_url, str)
            or not input_url.startswith("/")
            or input_url.startswith("//")
        ):
            # Only a path on the same server: the worker key must never be sent elsewhere.
            raise WorkerProtocolError(f"The input_url of job {job_id} is not a path.")
        return cls(job_id, operation, params, input_url)


class Worker:
    """Claims jobs one at a time and runs them through `creditflow.jobs.processors`.

    One job at a time keeps the worker's memory bounded by the largest image; run several
    workers to go faster, since the server hands each job to exactly one of them.
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        operations: Sequence[str] | None = None,
        poll_interval: float = 1.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operations = list(PROCESSORS) if operations is None else list(operations)
        self.poll_interval = poll_interval
        self._headers = {"Authorization": f"Bearer {key}"}
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=60.0)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------

    def run_once(self) -> str | None:
        """Claim, process and report one job; its id, or None when nothing was queued.

        A processor error fails the job with the error's message, so the customer sees why and
        the held credits are released. Network errors propagate: `run` retries them.
        """
        job = self._claim()
        if job is None:
            return None
        try:
            image = self._download(job)
            outputs = process(job.operation, image, job.params)
        except httpx.TransportError:
            raise  # the server may be unreachable; reporting would fail too, let `run` retry
        except Exception as exc:
            logger.warning("job %s (%s) failed: %s", job.id, job.operation, exc)
            self._report(job.id, "fail", {"error": _sentence(exc)})
            return job.id
        self._report(job.id, "complete", {"outputs": [_encode(output) for output in outputs]})
        return job.id

    def run(self, *, stop: threading.Event | None = None, max_jobs: int | None = None) -> int:
        """Work until `stop` is set or `max_jobs` jobs are done; the number of jobs done.

        Waiting happens on the event, so setting it ends an idle worker at once instead of
        after the poll interval. Errors talking to the server are logged and retried: a
        worker outlives a restart of the site.
        """
        stop = stop if stop is not None else threading.Event()
        done = 0
        while not stop.is_set() and (max_jobs is None or done < max_jobs):
            try:
                job_id = self.run_once()
            except (httpx.HTTPError, WorkerProtocolError) as exc:
                logger.warning("talking to %s failed, retrying: %s", self.base_url, exc)
                stop.wait(self.poll_interval)
                continue
            if job_id is None:
                stop.wait(self.poll_interval)
            else:
                done += 1
        return done

    # ----------------------------------------------------------------------------------------

    def _claim(self) -> ClaimedJob | None:
        response = self._client.post(
            f"{self.base_url}/v1/jobs/claim",
            json={"operations": self.operations},
            headers=self._headers,
        )
        if response.status_code == httpx.codes.NO_CONTENT:
            return None
        response.raise_for_status()
        try:
            payload = response.json()
        except ValueError as exc:
            raise WorkerProtocolError("The claim answer is not JSON.") from exc
        return ClaimedJob.from_json(payload)

    def _download(self, job: ClaimedJob) -> bytes:
        """The input image; empty for a job without one (e.g. text-to-image generation)."""
        if job.input_url is None:
            return b""
        response = self._client.get(f"{self.base_url}{job.input_url}", headers=self._headers)
        response.raise_for_status()
        return response.content

    def _report(self, job_id: str, outcome: str, body: Mapping[str, Any]) -> None:
        url = f"{self.base_url}/v1/jobs/{quote(job_id, safe='')}/{outcome}"
        headers = {**self._headers, "Idempotency-Key": f"{outcome}-{job_id}"}
        for attempt in range(1, _REPORT_ATTEMPTS + 1):
            try:
                response = self._client.post(url, json=body, headers=headers)
                if response.status_code < 500 or attempt == _REPORT_ATTEMPTS:
                    response.raise_for_status()
                    return
            except httpx.TransportError:
                if attempt == _REPORT_ATTEMPTS:
                    raise
            logger.info("reporting %s for job %s failed, attempt %d", outcome, job_id, attempt)
            time.sleep(self.poll_interval * attempt)


def _encode(output: Output) -> dict[str, str]:
    return {
        "content_type": output.content_type,
        "name": output.name,
        "data": base64.b64encode(output.data).decode("ascii"),
    }


def _sentence(exc: Exception) -> str:
    """The error as the customer will read it; never empty, even for a bare exception."""
    message = str(exc).strip()
    return message if message else f"The job failed ({type(exc).__name__})."
