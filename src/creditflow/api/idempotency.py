"""`Idempotency-Key` over HTTP, and answers that replay byte for byte."""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from creditflow.api.auth import Principal
from creditflow.services.idempotency import IdempotencyKey


async def raw_body(request: Request) -> bytes:
    return await request.body()


def idempotency_key(request: Request, principal: Principal, body: bytes) -> IdempotencyKey | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.url.path}\n".encode())
    digest.update(body)
    return IdempotencyKey(key=key, fingerprint=digest.hexdigest(), scope=principal.key_id)


def answer(result: BaseModel, *, status: int, key: IdempotencyKey | None = None) -> Response:
    """The result, as JSON. A replay's result is the stored answer read back, so its bytes are
    the first answer's; `Idempotent-Replayed: true` says it is one."""
    headers = {"Idempotent-Replayed": "true"} if key is not None and key.replayed else None
    body = key.response if key is not None and key.response is not None else None
    return Response(
        body or result.model_dump_json(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
