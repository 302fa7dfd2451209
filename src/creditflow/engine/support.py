"""The Python API of support's work: refund requests and decisions, disputes, incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from creditflow.domain.catalog import Images
from creditflow.domain.errors import InvalidRequest
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.jobs.images import inspect_image
from creditflow.services import (
    dispute_cases,
    incidents,
    provider_calls,
    refund_requests,
)
from creditflow.services.idempotency import run_in_steps
from creditflow.services.views import (
    DisputeView,
    EvidenceFileView,
    IncidentView,
    Page,
    RefundRequestView,
)

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


class Support(Part):
    # Refund requests, disputes and incidents

    def submit_refund_request(
        self,
        *,
        order_id: str,
        reason: str,
        description: str | None = None,
        evidence: list[dict[str, str]] | None = None,
        job_ids: list[str] | None = None,
        idempotency_key: IdempotencyArg = None,
    ) -> RefundRequestView:
        return self._once(
            key_for(
                idempotency_key,
                "submit_refund_request",
                order_id,
                reason,
                description,
                evidence,
                job_ids,
            ),
            RefundRequestView,
            lambda uow, now: refund_requests.submit_request(
                uow,
                catalog=self.catalog,
                now=now,
                files=self.files,
                order_id=order_id,
                reason=reason,
                description=description,
                evidence=evidence,
                job_ids=job_ids,
            ),
        )

    def decide_refund_request(
        self,
        request_id: str,
        *,
        outcome: str,
        note: str,
        amount: int | None = None,
        credits: int | None = None,
        decided_by: str = "python",
        idempotency_key: IdempotencyArg = None,
    ) -> RefundRequestView:
        """Support's decision; an approval's money goes back through the order's provider.

        The decision stands once made: if the provider cannot take the refund now, the answer
        shows it `pending` and the due-work queue asks again until it lands.
        """
        return run_in_steps(
            self.context,
            key_for(
                idempotency_key,
                "decide_refund_request",
                request_id,
                outcome,
                amount,
                credits,
                note,
            ),
            RefundRequestView,
            begin=lambda uow, now: (
                refund_requests.decide_request(
                    uow,
                    catalog=self.catalog,
                    now=now,
                    request_id=request_id,
                    outcome=outcome,
                    note=note,
                    decided_by=decided_by,
                    amount=amount,
                    credits=credits,
                ).id
            ),
            proceed=self._send_decided_refund,
            finish=lambda uow, subject: refund_requests.get_request(uow, request_id=subject),
        )

    def _send_decided_refund(self, request_id: str) -> None:
        refund_id = self.refund_request(request_id).refund_id
        if refund_id is not None:
            provider_calls.send_call_of(self.context, "refund", refund_id)

    def store_evidence_file(self, data: bytes) -> EvidenceFileView:
        """Keep a customer's proof (a photo, a screenshot, a PDF) for a refund request.

        Judged by its bytes as job images are; its `ref` (`file:<sha256>`) goes into a
        request's evidence. The same file twice is stored once.
        """
        if len(data) > MAX_EVIDENCE_BYTES:
            raise InvalidRequest(
                f"An evidence file may be at most {MAX_EVIDENCE_BYTES} bytes.", field="file"
            )
        if data.startswith(b"%PDF-"):
            content_type = "application/pdf"
        else:
            rules = Images(
                formats=("png", "jpeg", "bmp", "webp", "gif"),
                max_side=16384,
                max_bytes=MAX_EVIDENCE_BYTES,
            )
            content_type = inspect_image(data, rules).content_type
        sha256 = self.files.put(data)
        return EvidenceFileView(ref=f"file:{sha256}", content_type=content_type, bytes=len(data))

    def refund_request(self, request_id: str) -> RefundRequestView:
        return self._read(lambda uow: refund_requests.get_request(uow, request_id=request_id))

    def refund_requests(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Page[RefundRequestView]:
        return self._read(
            lambda uow: refund_requests.list_requests(
                uow, status=status, limit=limit, cursor=cursor
            )
        )

    def refund_queue(self) -> list[RefundRequestView]:
        """Open requests, the oldest due first: support's work list."""
        return self._read(
            lambda uow: [
                refund_requests.request_view(uow, r) for r in uow.refund_requests.open_by_due()
            ]
        )

    def open_dispute(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        actor: str = "python",
        idempotency_key: IdempotencyArg = None,
    ) -> DisputeView:
        return self._once(
            key_for(idempotency_key, "open_dispute", order_id, amount, reason),
            DisputeView,
            lambda uow, now: dispute_cases.open_case(
                uow,
                catalog=self.catalog,
                now=now,
                order_id=order_id,
                amount=amount,
                reason=reason,
                actor=actor,
            ),
        )

    def close_dispute(
        self,
        dispute_id: str,
        *,
        outcome: str,
        actor: str = "python",
        idempotency_key: IdempotencyArg = None,
    ) -> DisputeView:
        return self._once(
            key_for(idempotency_key, "close_dispute", dispute_id, outcome),
            DisputeView,
            lambda uow, now: dispute_cases.close_case(
                uow,
                catalog=self.catalog,
                now=now,
                dispute_id=dispute_id,
                outcome=outcome,
                actor=actor,
            ),
        )

    def dispute(self, dispute_id: str) -> DisputeView:
        return self._read(lambda uow: dispute_cases.get_case(uow, dispute_id=dispute_id))

    def dispute_evidence(self, dispute_id: str) -> dict[str, Any]:
        return self._read(lambda uow: dispute_cases.evidence(uow, dispute_id=dispute_id))

    def record_incident(
        self,
        *,
        started_at: datetime,
        summary: str,
        ended_at: datetime | None = None,
        actor: str = "python",
        idempotency_key: IdempotencyArg = None,
    ) -> IncidentView:
        return self._once(
            key_for(idempotency_key, "record_incident", started_at, ended_at, summary),
            IncidentView,
            lambda uow, now: incidents.record_incident(
                uow,
                now=now,
                actor=actor,
                started_at=started_at,
                ended_at=ended_at,
                summary=summary,
            ),
        )

    def resolve_incident(
        self,
        incident_id: str,
        *,
        ended_at: datetime,
        actor: str = "python",
        idempotency_key: IdempotencyArg = None,
    ) -> IncidentView:
        return self._once(
            key_for(idempotency_key, "resolve_incident", incident_id, ended_at),
            IncidentView,
            lambda uow, now: incidents.resolve_incident(
                uow, now=now, incident_id=incident_id, ended_at=ended_at, actor=actor
            ),
        )

    def incidents(self) -> list[IncidentView]:
        return self._read(incidents.list_incidents)
