"""`creditflow.Client` and `creditflow.AsyncClient`: the HTTP twins of `creditflow.Engine`.

Where they overlap, a method has the engine's name, arguments and return type, and raises the
engine's typed errors (`InsufficientCredits`, `NotFound`, a `Conflict` with its `code`, …), so a
site can move from the library to the service by changing one line. Every POST carries an
`Idempotency-Key`, made here unless given, and kept across the retries of network errors, 429
and 5xx answers (with back-off): a retried spend never spends twice. Lists come as pages, as
from the engine, and `iter_…` walks every page.

Each method is written once, as the request it makes (`Requests`), and put on both clients with
its exact signature.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import httpx
from pydantic import TypeAdapter

from creditflow.domain import errors
from creditflow.services.views import (
    AccountView,
    AlertsView,
    BalanceView,
    DailyClaimView,
    EntitlementsView,
    EventView,
    GrantView,
    HoldView,
    InvoiceView,
    JobView,
    LedgerEntryView,
    OrderView,
    Page,
    PlanChangeView,
    RefundRequestView,
    RefundView,
    SpendView,
    SubscriptionView,
    WebhookDeliveryView,
    WebhookEndpointView,
)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
RETRIED_STATUS = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class Request(Generic[R]):
    """One call of the API: what is sent, and how the answer is read."""

    method: str
    path: str
    read: Callable[[Any], R]
    json: Any = None
    params: dict[str, Any] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    data: dict[str, str] | None = None
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _reader(model: type[R]) -> Callable[[Any], R]:
    adapter = TypeAdapter(model)
    return adapter.validate_python


def _seg(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _given(**fields: Any) -> dict[str, Any]:
    """The fields that were given: what is left out takes the service's default."""
    return {name: value for name, value in fields.items() if value is not None}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Requests:
    """The API as requests, method by method; both clients send them."""

    # Accounts, credits, holds

    def create_account(
        self,
        *,
        external_id: str,
        email: str,
        country: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[AccountView]:
        body = _given(external_id=external_id, email=email, country=country)
        return Request(
            "POST", "/v1/accounts", _reader(AccountView), body, idempotency_key=idempotency_key
        )

    def account(self, account_id: str) -> Request[AccountView]:
        return Request("GET", f"/v1/accounts/{_seg(account_id)}", _reader(AccountView))

    def find_account(self, external_id: str) -> Request[AccountView | None]:
        def first(page: Any) -> AccountView | None:
            found = Page[AccountView].model_validate(page).data
            return found[0] if found else None

        return Request("GET", "/v1/accounts", first, params={"external_id": external_id})

    def accounts(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Request[Page[AccountView]]:
        params = _given(limit=limit, cursor=cursor)
        return Request("GET", "/v1/accounts", _reader(Page[AccountView]), params=params)

    def grant(
        self,
        account_id: str,
        *,
        credits: int,
        kind: str,
        reason: str | None = None,
        expires_at: datetime | None = None,
        priority: int | None = None,
        channel: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[GrantView]:
        body = _given(
            credits=credits,
            kind=kind,
            reason=reason,
            expires_at=_time(expires_at),
            priority=priority,
            channel=channel,
        )
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/grants",
            _reader(GrantView),
            body,
            idempotency_key=idempotency_key,
        )

    def consume(
        self,
        account_id: str,
        *,
        credits: int,
        channel: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[SpendView]:
        body = _given(credits=credits, channel=channel, reason=reason, reference=reference)
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/consume",
            _reader(SpendView),
            body,
            idempotency_key=idempotency_key,
        )

    def balance(self, account_id: str, *, channel: str | None = None) -> Request[BalanceView]:
        return Request(
            "GET",
            f"/v1/accounts/{_seg(account_id)}/balance",
            _reader(BalanceView),
            params=_given(channel=channel),
        )

    def ledger(
        self,
        account_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        type: str | None = None,
    ) -> Request[Page[LedgerEntryView]]:
        return Request(
            "GET",
            f"/v1/accounts/{_seg(account_id)}/ledger",
            _reader(Page[LedgerEntryView]),
            params=_given(limit=limit, cursor=cursor, type=type),
        )

    def hold(
        self,
        account_id: str,
        *,
        credits: int,
        channel: str | None = None,
        reason: str | None = None,
        reference: str | None = None,
        expires_in_seconds: int | None = None,
        idempotency_key: str | None = None,
    ) -> Request[HoldView]:
        body = _given(
            credits=credits,
            channel=channel,
            reason=reason,
            reference=reference,
            expires_in_seconds=expires_in_seconds,
        )
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/holds",
            _reader(HoldView),
            body,
            idempotency_key=idempotency_key,
        )

    def capture(
        self, hold_id: str, *, credits: int | None = None, idempotency_key: str | None = None
    ) -> Request[HoldView]:
        return Request(
            "POST",
            f"/v1/holds/{_seg(hold_id)}/capture",
            _reader(HoldView),
            _given(credits=credits),
            idempotency_key=idempotency_key,
        )

    def release(self, hold_id: str, *, idempotency_key: str | None = None) -> Request[HoldView]:
        return Request(
            "POST",
            f"/v1/holds/{_seg(hold_id)}/release",
            _reader(HoldView),
            idempotency_key=idempotency_key,
        )

    def get_hold(self, hold_id: str) -> Request[HoldView]:
        return Request("GET", f"/v1/holds/{_seg(hold_id)}", _reader(HoldView))

    def alerts(self, account_id: str) -> Request[AlertsView]:
        return Request("GET", f"/v1/accounts/{_seg(account_id)}/alerts", _reader(AlertsView))

    def set_alerts(self, account_id: str, *, low_balance: int | None) -> Request[AlertsView]:
        return Request(
            "PUT",
            f"/v1/accounts/{_seg(account_id)}/alerts",
            _reader(AlertsView),
            {"low_balance": low_balance},
        )

    # Orders, subscriptions, daily credits, entitlements

    def checkout(
        self,
        account_id: str,
        *,
        product: str,
        credits: int | None = None,
        provider: str | None = None,
        channel: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[OrderView]:
        body = _given(
            product=product,
            credits=credits,
            provider=provider,
            channel=channel,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/checkout",
            _reader(OrderView),
            body,
            idempotency_key=idempotency_key,
        )

    def order(self, order_id: str) -> Request[OrderView]:
        return Request("GET", f"/v1/orders/{_seg(order_id)}", _reader(OrderView))

    def orders(
        self, account_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Request[Page[OrderView]]:
        return Request(
            "GET",
            f"/v1/accounts/{_seg(account_id)}/orders",
            _reader(Page[OrderView]),
            params=_given(limit=limit, cursor=cursor),
        )

    def invoice(self, order_id: str) -> Request[InvoiceView]:
        return Request("GET", f"/v1/orders/{_seg(order_id)}/invoice", _reader(InvoiceView))

    def refund(self, refund_id: str) -> Request[RefundView]:
        return Request("GET", f"/v1/refunds/{_seg(refund_id)}", _reader(RefundView))

    def refund_order(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        reason: str = "requested",
        idempotency_key: str | None = None,
    ) -> Request[RefundView]:
        return Request(
            "POST",
            f"/v1/orders/{_seg(order_id)}/refunds",
            _reader(RefundView),
            _given(amount=amount, reason=reason),
            idempotency_key=idempotency_key,
        )

    def subscribe(
        self,
        account_id: str,
        *,
        plan: str,
        interval: str = "month",
        provider: str | None = None,
        success_url: str | None = None,
        cancel_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[SubscriptionView]:
        body = _given(
            plan=plan,
            interval=interval,
            provider=provider,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/subscriptions",
            _reader(SubscriptionView),
            body,
            idempotency_key=idempotency_key,
        )

    def subscription(self, subscription_id: str) -> Request[SubscriptionView]:
        return Request(
            "GET", f"/v1/subscriptions/{_seg(subscription_id)}", _reader(SubscriptionView)
        )

    def subscriptions(self, account_id: str) -> Request[list[SubscriptionView]]:
        def data(page: Any) -> list[SubscriptionView]:
            return Page[SubscriptionView].model_validate(page).data

        return Request("GET", f"/v1/accounts/{_seg(account_id)}/subscriptions", data)

    def cancel_subscription(
        self, subscription_id: str, *, idempotency_key: str | None = None
    ) -> Request[SubscriptionView]:
        return Request(
            "POST",
            f"/v1/subscriptions/{_seg(subscription_id)}/cancel",
            _reader(SubscriptionView),
            idempotency_key=idempotency_key,
        )

    def resume_subscription(
        self, subscription_id: str, *, idempotency_key: str | None = None
    ) -> Request[SubscriptionView]:
        return Request(
            "POST",
            f"/v1/subscriptions/{_seg(subscription_id)}/resume",
            _reader(SubscriptionView),
            idempotency_key=idempotency_key,
        )

    def change_plan(
        self,
        subscription_id: str,
        *,
        plan: str | None = None,
        interval: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[PlanChangeView]:
        return Request(
            "POST",
            f"/v1/subscriptions/{_seg(subscription_id)}/change",
            _reader(PlanChangeView),
            _given(plan=plan, interval=interval),
            idempotency_key=idempotency_key,
        )

    def claim_daily_credits(
        self, account_id: str, *, idempotency_key: str | None = None
    ) -> Request[DailyClaimView]:
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/daily-claims",
            _reader(DailyClaimView),
            idempotency_key=idempotency_key,
        )

    def entitlements(self, account_id: str) -> Request[EntitlementsView]:
        return Request(
            "GET", f"/v1/accounts/{_seg(account_id)}/entitlements", _reader(EntitlementsView)
        )

    # Jobs

    def create_job(
        self,
        account_id: str,
        *,
        operation: str,
        image: bytes,
        params: dict[str, Any] | None = None,
        channel: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[JobView]:
        data = _given(operation=operation, channel=channel)
        if params is not None:
            data["params"] = json.dumps(params)
        return Request(
            "POST",
            f"/v1/accounts/{_seg(account_id)}/jobs",
            _reader(JobView),
            files={"image": ("image", image, "application/octet-stream")},
            data=data,
            idempotency_key=idempotency_key,
        )

    def job(self, job_id: str) -> Request[JobView]:
        return Request("GET", f"/v1/jobs/{_seg(job_id)}", _reader(JobView))

    def jobs(
        self, account_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Request[Page[JobView]]:
        return Request(
            "GET",
            f"/v1/accounts/{_seg(account_id)}/jobs",
            _reader(Page[JobView]),
            params=_given(limit=limit, cursor=cursor),
        )

    # Refund requests

    def submit_refund_request(
        self,
        *,
        order_id: str,
        reason: str,
        description: str | None = None,
        evidence: list[dict[str, str]] | None = None,
        job_ids: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Request[RefundRequestView]:
        body = _given(
            order_id=order_id,
            reason=reason,
            description=description,
            evidence=evidence,
            job_ids=job_ids,
        )
        return Request(
            "POST",
            "/v1/refund-requests",
            _reader(RefundRequestView),
            body,
            idempotency_key=idempotency_key,
        )

    def refund_request(self, request_id: str) -> Request[RefundRequestView]:
        return Request("GET", f"/v1/refund-requests/{_seg(request_id)}", _reader(RefundRequestView))

    def refund_requests(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> Request[Page[RefundRequestView]]:
        return Request(
            "GET",
            "/v1/refund-requests",
            _reader(Page[RefundRequestView]),
            params=_given(status=status, limit=limit, cursor=cursor),
        )

    def decide_refund_request(
        self,
        request_id: str,
        *,
        outcome: str,
        note: str,
        amount: int | None = None,
        credits: int | None = None,
        idempotency_key: str | None = None,
    ) -> Request[RefundRequestView]:
        return Request(
            "POST",
            f"/v1/refund-requests/{_seg(request_id)}/decision",
            _reader(RefundRequestView),
            _given(outcome=outcome, note=note, amount=amount, credits=credits),
            idempotency_key=idempotency_key,
        )

    # Events

    def events(
        self,
        *,
        type: str | None = None,
        account_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Request[Page[EventView]]:
        return Request(
            "GET",
            "/v1/events",
            _reader(Page[EventView]),
            params=_given(type=type, account_id=account_id, limit=limit, cursor=cursor),
        )

    def event(self, event_id: str) -> Request[EventView]:
        return Request("GET", f"/v1/events/{_seg(event_id)}", _reader(EventView))

    def redeliver_event(
        self,
        event_id: str,
        *,
        endpoint_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[EventView]:
        return Request(
            "POST",
            f"/v1/events/{_seg(event_id)}/redeliver",
            _reader(EventView),
            _given(endpoint_id=endpoint_id),
            idempotency_key=idempotency_key,
        )

    # Webhook endpoints (admin)

    def create_webhook_endpoint(
        self,
        *,
        url: str,
        events: Sequence[str],
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Request[WebhookEndpointView]:
        return Request(
            "POST",
            "/v1/webhook-endpoints",
            _reader(WebhookEndpointView),
            _given(url=url, events=list(events), description=description),
            idempotency_key=idempotency_key,
        )

    def webhook_endpoints(self) -> Request[list[WebhookEndpointView]]:
        def data(page: Any) -> list[WebhookEndpointView]:
            return Page[WebhookEndpointView].model_validate(page).data

        return Request("GET", "/v1/webhook-endpoints", data)

    def webhook_endpoint(self, endpoint_id: str) -> Request[WebhookEndpointView]:
        return Request(
            "GET", f"/v1/webhook-endpoints/{_seg(endpoint_id)}", _reader(WebhookEndpointView)
        )

    def update_webhook_endpoint(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        status: str | None = None,
        description: str | None = None,
    ) -> Request[WebhookEndpointView]:
        body = _given(
            url=url,
            events=list(events) if events is not None else None,
            status=status,
            description=description,
        )
        return Request(
            "PATCH",
            f"/v1/webhook-endpoints/{_seg(endpoint_id)}",
            _reader(WebhookEndpointView),
            body,
        )

    def delete_webhook_endpoint(self, endpoint_id: str) -> Request[WebhookEndpointView]:
        return Request(
            "DELETE", f"/v1/webhook-endpoints/{_seg(endpoint_id)}", _reader(WebhookEndpointView)
        )

    def rotate_webhook_secret(
        self, endpoint_id: str, *, idempotency_key: str | None = None
    ) -> Request[WebhookEndpointView]:
        return Request(
            "POST",
            f"/v1/webhook-endpoints/{_seg(endpoint_id)}/rotate-secret",
            _reader(WebhookEndpointView),
            idempotency_key=idempotency_key,
        )

    def webhook_deliveries(
        self, endpoint_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Request[Page[WebhookDeliveryView]]:
        return Request(
            "GET",
            f"/v1/webhook-endpoints/{_seg(endpoint_id)}/deliveries",
            _reader(Page[WebhookDeliveryView]),
            params=_given(limit=limit, cursor=cursor),
        )


_REQUESTS = Requests()
_ERRORS: dict[str, type[errors.CreditflowError]] = {
    "account_exists": errors.AccountExists,
    "account_suspended": errors.AccountSuspended,
    "hold_not_active": errors.HoldNotActive,
    "idempotency_key_reused": errors.IdempotencyKeyReused,
    "invalid_signature": errors.InvalidSignature,
    "provider_unavailable": errors.ProviderUnavailable,
    "provider_refused": errors.ProviderRefused,
    "payment_declined": errors.PaymentDeclined,
    "unauthorized": errors.Unauthorized,
    "not_found": errors.NotFound,
    "invalid_catalog": errors.CatalogError,
}
_BY_STATUS: dict[int, type[errors.CreditflowError]] = {
    401: errors.Unauthorized,
    402: errors.PaymentDeclined,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    400: errors.InvalidRequest,
    422: errors.InvalidRequest,
}


def error_of(status: int, body: Any) -> errors.CreditflowError:
    """The typed error an answer carries, as `Engine` would have raised it."""
    problem = body.get("error", {}) if isinstance(body, dict) else {}
    code = str(problem.get("code") or "error")
    message = str(problem.get("message") or f"The service answered {status}.")
    given = problem.get("details")
    details: dict[str, Any] = given if isinstance(given, dict) else {}
    if code == "insufficient_credits":
        return errors.InsufficientCredits(
            available=int(details.get("available", 0)), requested=int(details.get("requested", 0))
        )
    if code == "invalid_image":
        rest = {k: v for k, v in details.items() if k != "reason"}
        return errors.InvalidImage(message, reason=str(details.get("reason")), **rest)
    kind = _ERRORS.get(code) or _BY_STATUS.get(status, errors.CreditflowError)
    error = kind(message, **details)
    error.code = code
    return error


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries in all, the first included."""
    backoff: float = 0.25
    """Seconds before the second try; doubled each time after."""

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        after = response.headers.get("retry-after") if response is not None else None
        if after is not None and after.isdigit():
            return min(float(after), 30.0)
        return float(self.backoff * 2 ** (attempt - 1))


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": "creditflow-python"}


def _arguments(request: Request[Any], key: str | None) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    return {
        "method": request.method,
        "url": request.path,
        "json": request.json if request.files is None and request.method != "GET" else None,
        "params": request.params,
        "files": request.files,
        "data": request.data,
        "headers": headers,
    }


def _result(request: Request[R], response: httpx.Response) -> R:
    try:
        body = response.json() if response.content else None
    except ValueError:  # not ours: a proxy's error page
        body = None
    if response.status_code >= 400:
        raise error_of(response.status_code, body)
    return request.read(body)


def _key_of(request: Request[Any]) -> str | None:
    """A POST's key: the caller's, or one made for this call and all its retries. PUT, PATCH and
    DELETE are idempotent by themselves."""
    if request.method != "POST":
        return None
    return request.idempotency_key or f"cf-{uuid.uuid4()}"


def _sync(
    build: Callable[Concatenate[Requests, P], Request[R]],
) -> Callable[Concatenate[Client, P], R]:
    def call(client: Client, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return client.send(build(_REQUESTS, *args, **kwargs))

    return functools.update_wrapper(call, build)


def _async(
    build: Callable[Concatenate[Requests, P], Request[R]],
) -> Callable[Concatenate[AsyncClient, P], Awaitable[R]]:
    async def call(client: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await client.send(build(_REQUESTS, *args, **kwargs))

    return functools.update_wrapper(call, build)


def _pages(
    build: Callable[Concatenate[Requests, P], Request[Page[T]]],
) -> Callable[Concatenate[Client, P], Iterator[T]]:
    """Every item of a list, page after page (`cursor` and `limit` as the list takes them)."""

    def walk(client: Client, /, *args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        while True:
            page = client.send(build(_REQUESTS, *args, **kwargs))
            yield from page.data
            if page.next_cursor is None:
                return
            kwargs["cursor"] = page.next_cursor

    return walk


def _async_pages(
    build: Callable[Concatenate[Requests, P], Request[Page[T]]],
) -> Callable[Concatenate[AsyncClient, P], AsyncIterator[T]]:
    async def walk(client: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[T]:
        while True:
            page = await client.send(build(_REQUESTS, *args, **kwargs))
            for item in page.data:
                yield item
            if page.next_cursor is None:
                return
            kwargs["cursor"] = page.next_cursor

    return walk


class Client:
    """The service over HTTP, synchronously.

    >>> client = Client("http://127.0.0.1:8000", "sk_…")
    >>> client.consume(account_id, credits=120)
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: Request[R]) -> R:
        """Send one request, retried on network errors, 429 and 5xx with the same key."""
        arguments = _arguments(request, _key_of(request))
        for attempt in range(1, self._retry.attempts + 1):
            last = attempt == self._retry.attempts
            try:
                response = self._http.request(**arguments)
            except httpx.TransportError:
                if last:
                    raise
                time.sleep(self._retry.delay(attempt, None))
                continue
            if response.status_code in RETRIED_STATUS and not last:
                time.sleep(self._retry.delay(attempt, response))
                continue
            return _result(request, response)
        raise AssertionError("unreachable")  # pragma: no cover

    # The API, method by method (see Requests)
    create_account = _sync(Requests.create_account)
    account = _sync(Requests.account)
    find_account = _sync(Requests.find_account)
    accounts = _sync(Requests.accounts)
    grant = _sync(Requests.grant)
    consume = _sync(Requests.consume)
    balance = _sync(Requests.balance)
    ledger = _sync(Requests.ledger)
    hold = _sync(Requests.hold)
    capture = _sync(Requests.capture)
    release = _sync(Requests.release)
    get_hold = _sync(Requests.get_hold)
    alerts = _sync(Requests.alerts)
    set_alerts = _sync(Requests.set_alerts)
    checkout = _sync(Requests.checkout)
    order = _sync(Requests.order)
    orders = _sync(Requests.orders)
    invoice = _sync(Requests.invoice)
    refund = _sync(Requests.refund)
    refund_order = _sync(Requests.refund_order)
    subscribe = _sync(Requests.subscribe)
    subscription = _sync(Requests.subscription)
    subscriptions = _sync(Requests.subscriptions)
    cancel_subscription = _sync(Requests.cancel_subscription)
    resume_subscription = _sync(Requests.resume_subscription)
    change_plan = _sync(Requests.change_plan)
    claim_daily_credits = _sync(Requests.claim_daily_credits)
    entitlements = _sync(Requests.entitlements)
    create_job = _sync(Requests.create_job)
    job = _sync(Requests.job)
    jobs = _sync(Requests.jobs)
    submit_refund_request = _sync(Requests.submit_refund_request)
    refund_request = _sync(Requests.refund_request)
    refund_requests = _sync(Requests.refund_requests)
    decide_refund_request = _sync(Requests.decide_refund_request)
    events = _sync(Requests.events)
    event = _sync(Requests.event)
    redeliver_event = _sync(Requests.redeliver_event)
    create_webhook_endpoint = _sync(Requests.create_webhook_endpoint)
    webhook_endpoints = _sync(Requests.webhook_endpoints)
    webhook_endpoint = _sync(Requests.webhook_endpoint)
    update_webhook_endpoint = _sync(Requests.update_webhook_endpoint)
    delete_webhook_endpoint = _sync(Requests.delete_webhook_endpoint)
    rotate_webhook_secret = _sync(Requests.rotate_webhook_secret)
    webhook_deliveries = _sync(Requests.webhook_deliveries)

    # Every page of a list
    iter_accounts = _pages(Requests.accounts)
    iter_ledger = _pages(Requests.ledger)
    iter_orders = _pages(Requests.orders)
    iter_jobs = _pages(Requests.jobs)
    iter_refund_requests = _pages(Requests.refund_requests)
    iter_events = _pages(Requests.events)


class AsyncClient:
    """The service over HTTP, for asyncio: the same methods, awaited."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, request: Request[R]) -> R:
        arguments = _arguments(request, _key_of(request))
        for attempt in range(1, self._retry.attempts + 1):
            last = attempt == self._retry.attempts
            try:
                response = await self._http.request(**arguments)
            except httpx.TransportError:
                if last:
                    raise
                await asyncio.sleep(self._retry.delay(attempt, None))
                continue
            if response.status_code in RETRIED_STATUS and not last:
                await asyncio.sleep(self._retry.delay(attempt, response))
                continue
            return _result(request, response)
        raise AssertionError("unreachable")  # pragma: no cover

    # The API, method by method (see Requests)
    create_account = _async(Requests.create_account)
    account = _async(Requests.account)
    find_account = _async(Requests.find_account)
    accounts = _async(Requests.accounts)
    grant = _async(Requests.grant)
    consume = _async(Requests.consume)
    balance = _async(Requests.balance)
    ledger = _async(Requests.ledger)
    hold = _async(Requests.hold)
    capture = _async(Requests.capture)
    release = _async(Requests.release)
    get_hold = _async(Requests.get_hold)
    alerts = _async(Requests.alerts)
    set_alerts = _async(Requests.set_alerts)
    checkout = _async(Requests.checkout)
    order = _async(Requests.order)
    orders = _async(Requests.orders)
    invoice = _async(Requests.invoice)
    refund = _async(Requests.refund)
    refund_order = _async(Requests.refund_order)
    subscribe = _async(Requests.subscribe)
    subscription = _async(Requests.subscription)
    subscriptions = _async(Requests.subscriptions)
    cancel_subscription = _async(Requests.cancel_subscription)
    resume_subscription = _async(Requests.resume_subscription)
    change_plan = _async(Requests.change_plan)
    claim_daily_credits = _async(Requests.claim_daily_credits)
    entitlements = _async(Requests.entitlements)
    create_job = _async(Requests.create_job)
    job = _async(Requests.job)
    jobs = _async(Requests.jobs)
    submit_refund_request = _async(Requests.submit_refund_request)
    refund_request = _async(Requests.refund_request)
    refund_requests = _async(Requests.refund_requests)
    decide_refund_request = _async(Requests.decide_refund_request)
    events = _async(Requests.events)
    event = _async(Requests.event)
    redeliver_event = _async(Requests.redeliver_event)
    create_webhook_endpoint = _async(Requests.create_webhook_endpoint)
    webhook_endpoints = _async(Requests.webhook_endpoints)
    webhook_endpoint = _async(Requests.webhook_endpoint)
    update_webhook_endpoint = _async(Requests.update_webhook_endpoint)
    delete_webhook_endpoint = _async(Requests.delete_webhook_endpoint)
    rotate_webhook_secret = _async(Requests.rotate_webhook_secret)
    webhook_deliveries = _async(Requests.webhook_deliveries)

    # Every page of a list
    iter_accounts = _async_pages(Requests.accounts)
    iter_ledger = _async_pages(Requests.ledger)
    iter_orders = _async_pages(Requests.orders)
    iter_jobs = _async_pages(Requests.jobs)
    iter_refund_requests = _async_pages(Requests.refund_requests)
    iter_events = _async_pages(Requests.events)
