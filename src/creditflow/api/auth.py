"""API keys and roles: `Authorization: Bearer <key>`.

Keys are looked up by the SHA-256 of the secret; answers are cached for a short while so the
database is not asked on every request of a busy client. The cache is only touched on the event
loop, so it needs no lock.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio.to_thread
from fastapi import Request

from creditflow.domain.errors import Forbidden, Unauthorized
from creditflow.engine import Engine
from creditflow.services.api_keys import hash_secret

CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str


class KeyRing:
    def __init__(self, engine: Engine, admin_secret: str | None) -> None:
        self._engine = engine
        self._admin_hash = hash_secret(admin_secret) if admin_secret else None
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        """The key's principal: from the cache on the event loop, from the database (in a
        worker thread, once per key per `CACHE_SECONDS`) otherwise."""
        secret_hash = _secret_hash(authorization)
        if self._admin_hash and hmac.compare_digest(secret_hash, self._admin_hash):
            return Principal(key_id="admin-env", role="admin")
        now = time.monotonic()
        hit = self._cache.get(secret_hash)
        if hit is not None and hit[0] > now:
            principal = hit[1]
        else:
            record = await anyio.to_thread.run_sync(self._engine.find_api_key_by_hash, secret_hash)
            principal = Principal(record.id, record.role) if record else None
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[secret_hash] = (now + CACHE_SECONDS, principal)
        if principal is None:
            raise Unauthorized("That API key is not valid.")
        return principal


def _secret_hash(authorization: str | None) -> str:
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    return hash_secret(secret.strip())


def allow(*roles: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that lets in `admin` and the roles named, and no one else. It runs on the
    event loop: a sync one would cost every request a hop through the thread pool."""
    permitted = {"admin", *roles}

    async def dependency(request: Request) -> Principal:
        keys: KeyRing = request.app.state.keys
        principal = await keys.authenticate(request.headers.get("authorization"))
        if principal.role not in permitted:
            raise Forbidden(
                f"The {principal.role} role may not do this; it needs one of "
                f"{', '.join(sorted(permitted))}.",
                role=principal.role,
            )
        request.state.principal = principal
        return principal

    return dependency
