"""The Python API for refund requests, support decisions, disputes and incidents.

A mixin of `creditflow.Engine`. A decision that approves a refund spans a transaction, the
provider's refund call and a second transaction, so its idempotency key is checked before and
stored after, as the test clock's advance does.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from creditflow.domain.catalog import Images
from creditflow.domain.errors import InvalidRequest
from creditflow.engine_parts import EngineParts
from creditflow.jobs.images import inspect_image
from creditflow.services import dispute_cases, incidents, refund_requests
from creditflow.services.idempotency import IdempotencyKey, fingerprint, recall, remember
from creditflow.services.views import (
    DisputeView,
    EvidenceFileView,
    IncidentView,
    Page,
    RefundRequestView,
)

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024

if TYPE_CHECKING:
    from creditflow.jobs.files import FileStore
    from creditflow.services.views import RefundView


class RefundMethods(EngineParts):
    files: FileStore

    def _send_refund(self, refund_id: str) -> RefundView:  # engine_money
        raise NotImplementedError

    def submit_refund_request(
        self,
        *,
        order_id: str,
        reason: str,
        description: str | None = None,
        evidence: list[dict[str, str]] | None = None,
        job_ids: list[str] | None = None,
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> RefundRequestView:
        args: dict[str, Any] = {
            "order_id": order_id,
            "reason": reason,
            "description": description,
            "evidence": evidence,
            "job_ids": job_ids,
        }
        return self._write(
            "submit_refund_request",
            args,
            idempotency_key,
            RefundRequestView,
            lambda uow, now: refund_requests.submit_request(
                uow, catalog=self.catalog, now=now, files=self.files, **args
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
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> RefundRequestView:
        """Support's decision; an approval's money goes back through the order's provider."""
        key = (
            IdempotencyKey(
                key=idempotency_key,
                fingerprint=fingerprint(
                    "decide_refund_request",
                    {
                        "id": request_id,
                        "outcome": outcome,
                        "amount": amount,
                        "credits": credits,
                        "note": note,
                    },
                ),
            )
            if isinstance(idempotency_key, str)
            else idempotency_key
        )
        if key is not None:
            with self.context.reading() as uow:
                replay = recall(uow, key, RefundRequestView)
            if replay is not None:
                return replay
        view, refund = self.context.run_plain(
            lambda uow: refund_requests.decide_request(
                uow,
                catalog=self.catalog,
                now=self.context.clock.now(),
                request_id=request_id,
                outcome=outcome,
                note=note,
                decided_by=decided_by,
                amount=amount,
                credits=credits,
            )
        )
        if refund is not None:
            self._send_refund(refund.id)
        if key is not None:
            with self.context.writing() as uow:
                remember(uow, key, view, now=self.context.clock.now())
                uow.commit()
        return view

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
        with self.context.reading() as uow:
            return refund_requests.list_requests(uow, status=status, limit=limit, cursor=cursor)

    def refund_queue(self) -> list[RefundRequestView]:
        """Open requests, the oldest due first: support's work list."""
        with self.context.reading() as uow:
            return [refund_requests.request_view(r) for r in uow.refund_requests.open_by_due()]

    # Disputes

    def open_dispute(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        actor: str = "python",
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> DisputeView:
        args = {"order_id": order_id, "amount": amount, "reason": reason}
        return self._write(
            "open_dispute",
            args,
            idempotency_key,
            DisputeView,
            lambda uow, now: dispute_cases.open_case(
                uow,
                catalog=self.catalog,
                now=now,
                actor=actor,
                **args,  # type: ignore[arg-type]
            ),
        )

    def close_dispute(
        self,
        dispute_id: str,
        *,
        outcome: str,
        actor: str = "python",
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> DisputeView:
        return self._write(
            "close_dispute",
            {"dispute_id": dispute_id, "outcome": outcome},
            idempotency_key,
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
        with self.context.reading() as uow:
            return dispute_cases.evidence(uow, dispute_id=dispute_id)

    # Incidents

    def record_incident(
        self,
        *,
        started_at: datetime,
        summary: str,
        ended_at: datetime | None = None,
        actor: str = "python",
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> IncidentView:
        args = {"started_at": started_at, "ended_at": ended_at, "summary": summary}
        return self._write(
            "record_incident",
            args,
            idempotency_key,
            IncidentView,
            lambda uow, now: incidents.record_incident(
                uow,
                now=now,
                actor=actor,
                **args,  # type: ignore[arg-type]
            ),
        )

    def resolve_incident(
        self,
        incident_id: str,
        *,
        ended_at: datetime,
        actor: str = "python",
        idempotency_key: str | IdempotencyKey | None = None,
    ) -> IncidentView:
        return self._write(
            "resolve_incident",
            {"incident_id": incident_id, "ended_at": ended_at},
            idempotency_key,
            IncidentView,
            lambda uow, now: incidents.resolve_incident(
                uow, now=now, incident_id=incident_id, ended_at=ended_at, actor=actor
            ),
        )

    def incidents(self) -> list[IncidentView]:
        with self.context.reading() as uow:
            return incidents.list_incidents(uow)
