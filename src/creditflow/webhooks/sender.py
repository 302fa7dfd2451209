"""One POST of one delivery: bounded in time and in what it reads, redirects not followed.

A receiver that hangs, drips its answer, answers with a redirect or a 100 MB body costs one
attempt of at most `TIMEOUT` seconds and `READ_LIMIT` bytes, and never the deliveries of
other endpoints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from creditflow.webhooks.addresses import AddressRefused, target_of

TIMEOUT = 10.0
READ_LIMIT = 2048
"""Bytes of the answer kept for the delivery's record; the rest is never read."""


@dataclass(frozen=True, slots=True)
class Sent:
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def unreachable(self) -> bool:
        """No answer at all (refused, timed out, not allowed): the endpoint's other
        deliveries of this round wait for the next."""
        return self.status_code is None


class WebhookSender:
    def __init__(self, *, allow_private: bool, client: httpx.Client | None = None) -> None:
        self._allow_private = allow_private
        self._client = client or httpx.Client(
            timeout=TIMEOUT, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        self._client.close()

    def send(self, url: str, *, headers: dict[str, str], body: str) -> Sent:
        started = time.monotonic()
        try:
            target = target_of(url, allow_private=self._allow_private)
        except AddressRefused as refused:
            return Sent(None, None, str(refused), _ms(started))
        request_headers = dict(headers)
        if target.host_header is not None:
            request_headers["host"] = target.host_header
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        try:
            with self._client.stream(
                "POST",
                target.url,
                content=body.encode(),
                headers=request_headers,
                extensions=extensions,
            ) as response:
                kept = bytearray()
                for chunk in response.iter_raw():
                    kept += chunk
                    if len(kept) >= READ_LIMIT or time.monotonic() - started > TIMEOUT:
                        break
                text = bytes(kept[:READ_LIMIT]).decode("utf-8", errors="replace")
                error = None
                if 300 <= response.status_code < 400:
                    error = f"answered {response.status_code}: redirects are not followed"
                elif response.status_code >= 400:
                    error = f"answered {response.status_code}"
                return Sent(response.status_code, text, error, _ms(started))
        except httpx.TimeoutException:
            return Sent(None, None, f"no answer within {TIMEOUT:g} s", _ms(started))
        except httpx.HTTPError as error:
            return Sent(None, None, f"could not be reached: {error}", _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
