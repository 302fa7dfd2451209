"""The support console's use cases: staff and their sessions, the pages' reads, support's actions.

Sessions and sign-in throttling run on the wall clock (a test clock moved a month ahead must not
sign everyone out); what staff do is stamped with the engine's clock, like everything else in
the books. Every action runs at most once per form: a form carries a random id, and that id is
the action's idempotency key (scoped to the staff member), so a double click or a reload after
a POST never gives credits twice or refunds twice.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.clock import Clock
from creditflow.domain.errors import InvalidRequest, NotFound
from creditflow.engine.parts import Part
from creditflow.services import (
    api_keys,
    console_views,
    dashboard,
    money_back,
    previews,
    provider_calls,
    staff,
    support_actions,
    web_sessions,
)
from creditflow.services.context import ServiceContext
from creditflow.services.idempotency import IdempotencyKey, fingerprint, run_in_steps
from creditflow.services.staff import StaffMember
from creditflow.services.views import (
    AccountView,
    ApiKeyView,
    DisputeView,
    GrantView,
    RefundRequestView,
    RefundView,
    SubscriptionView,
    View,
)
from creditflow.services.web_sessions import BrowserSession
from creditflow.store.api_keys import ListedApiKey
from creditflow.store.uow import UnitOfWork


class RevokedKey(View):
    id: str


class Console(Part):
    def __init__(self, context: ServiceContext, *, wall_clock: Clock) -> None:
        super().__init__(context)
        self.wall_clock = wall_clock

    # Staff (the `creditflow staff` commands and the admin's pages)

    def create_staff(
        self, email: str, *, role: str, password: str | None = None, actor: str = "cli"
    ) -> tuple[StaffMember, str]:
        """A staff member and their password (made up when none is given)."""
        secret = password if password is not None else staff.new_password()

        def create(uow: UnitOfWork) -> StaffMember:
            made = staff.create_staff(
                uow, email=email, role=role, password=secret, now=self.clock.now()
            )
            self._audit(uow, actor, "staff_created", made.id, email=made.email, role=role)
            return made

        return self._plain(create), secret

    def staff(self) -> list[StaffMember]:
        return self._read(staff.list_staff)

    def disable_staff(self, email: str, *, actor: str = "cli") -> StaffMember:
        def disable(uow: UnitOfWork) -> StaffMember:
            done = staff.disable_staff(uow, email=email, now=self.wall_clock.now())
            self._audit(uow, actor, "staff_disabled", done.id, email=done.email)
            return done

        return self._plain(disable)

    # Signing in and out

    def sign_in(self, *, email: str, password: str, address: str) -> str | None:
        """A session token for these credentials, or None; TooManyAttempts when throttled."""

        def attempt(uow: UnitOfWork) -> str | None:
            now = self.wall_clock.now()
            found = staff.authenticate(
                uow, email=email, password=password, address=address, now=now
            )
            if found is None:
                return None
            self._audit(uow, found.email, "signed_in", found.id, address=address)
            return web_sessions.start_session(uow, kind="console", subject_id=found.id, now=now)

        return self._plain(attempt)

    def session(self, token: str) -> tuple[BrowserSession, StaffMember] | None:
        """The live session of a cookie's token and its staff member (active ones only)."""

        def resume(uow: UnitOfWork) -> tuple[BrowserSession, StaffMember] | None:
            live = web_sessions.resume_session(
                uow, kind="console", token=token, now=self.wall_clock.now()
            )
            record = uow.staff.get(live.subject_id) if live else None
            if live is None or record is None or record.status != "active":
                return None
            return live, staff.member(record)

        return self._plain(resume)

    def sign_out(self, token: str) -> None:
        self._plain(
            lambda uow: web_sessions.end_session(uow, token=token, now=self.wall_clock.now())
        )

    # API keys (admin)

    def api_keys(self) -> list[ListedApiKey]:
        return self._read(lambda uow: uow.api_keys.listed())

    def create_api_key(self, *, role: str, label: str | None, actor: str) -> ApiKeyView:
        """Not replayable by form id: a key's secret is shown once and never stored."""

        def create(uow: UnitOfWork) -> ApiKeyView:
            made = api_keys.create_api_key(uow, now=self.clock.now(), role=role, label=label)
            self._audit(uow, actor, "api_key_created", made.id, role=role, label=label)
            return made

        return self._plain(create)

    def revoke_api_key(self, key_id: str, *, actor: str, form_id: str) -> RevokedKey:
        def revoke(uow: UnitOfWork, now: datetime) -> RevokedKey:
            if not uow.api_keys.revoke(key_id, now):
                raise NotFound(f"No live API key with id {key_id!r}.", key_id=key_id)
            self._audit(uow, actor, "api_key_revoked", key_id)
            return RevokedKey(id=key_id)

        return self._once(self._key(actor, form_id, "revoke_api_key", key_id), RevokedKey, revoke)

    # What the pages show

    def dashboard(self, *, days: int = 30) -> dashboard.Dashboard:
        currency = self.catalog.site.currency
        return self._read(
            lambda uow: dashboard.dashboard(uow, now=self.clock.now(), days=days, currency=currency)
        )

    def account_page(
        self, account_id: str, *, ledger_type: str | None = None, ledger_cursor: str | None = None
    ) -> console_views.AccountPage:
        return self._read(
            lambda uow: console_views.account_page(
                uow,
                catalog=self.catalog,
                now=self.clock.now(),
                account_id=account_id,
                ledger_type=ledger_type,
                ledger_cursor=ledger_cursor,
            )
        )

    def search_accounts(self, query: str) -> list[AccountView]:
        return self._read(lambda uow: console_views.search_accounts(uow, query=query))

    def request_page(self, request_id: str) -> console_views.RequestPage:
        return self._read(
            lambda uow: console_views.request_page(uow, files=self.files, request_id=request_id)
        )

    def refund_queue(
        self,
        *,
        status: str | None = "in_review",
        reason: str | None = None,
        recommended: str | None = None,
    ) -> list[RefundRequestView]:
        return self._read(
            lambda uow: console_views.refund_queue(
                uow, status=status, reason=reason, recommended=recommended
            )
        )

    def disputes(self, *, status: str | None = None) -> list[DisputeView]:
        return self._read(lambda uow: console_views.disputes_list(uow, status=status))

    def audit_log(
        self, *, actor: str | None = None, action: str | None = None, before: int | None = None
    ) -> console_views.AuditPage:
        return self._read(
            lambda uow: console_views.audit_log(uow, actor=actor, action=action, before=before)
        )

    # What an action will do, before it is confirmed

    def preview_decision(
        self,
        request_id: str,
        *,
        outcome: str,
        amount: int | None,
        credits: int | None,
        note: str,
        actor: str,
    ) -> previews.Effects:
        return self._rehearse(
            lambda uow, now: previews.decision_effects(
                uow,
                catalog=self.catalog,
                now=now,
                request_id=request_id,
                outcome=outcome,
                note=note,
                amount=amount,
                credits=credits,
                decided_by=actor,
            )
        )

    def preview_order_refund(
        self, order_id: str, *, amount: int | None, reason: str
    ) -> previews.Effects:
        return self._rehearse(
            lambda uow, now: previews.refund_effects(
                uow,
                catalog=self.catalog,
                now=now,
                order_id=order_id,
                amount=amount,
                reason=reason,
            )
        )

    # Support's actions on an account

    def give_credits(
        self,
        account_id: str,
        *,
        credits: int,
        kind: str,
        reason: str,
        actor: str,
        form_id: str,
    ) -> GrantView:
        return self._once(
            self._key(actor, form_id, "give_credits", account_id, credits, kind, reason),
            GrantView,
            lambda uow, now: support_actions.give_credits(
                uow,
                catalog=self.catalog,
                now=now,
                actor=actor,
                account_id=account_id,
                credits=credits,
                kind=kind,
                reason=reason,
            ),
        )

    def suspend_account(
        self, account_id: str, *, reason: str, actor: str, form_id: str
    ) -> AccountView:
        return self._once(
            self._key(actor, form_id, "suspend_account", account_id, reason),
            AccountView,
            lambda uow, now: support_actions.suspend_account(
                uow, now=now, actor=actor, account_id=account_id, reason=reason
            ),
        )

    def reinstate_account(
        self, account_id: str, *, reason: str, actor: str, form_id: str
    ) -> AccountView:
        return self._once(
            self._key(actor, form_id, "reinstate_account", account_id, reason),
            AccountView,
            lambda uow, now: support_actions.reinstate_account(
                uow, now=now, actor=actor, account_id=account_id, reason=reason
            ),
        )

    def cancel_subscription(
        self, subscription_id: str, *, actor: str, form_id: str
    ) -> SubscriptionView:
        return self._once(
            self._key(actor, form_id, "cancel_subscription", subscription_id),
            SubscriptionView,
            lambda uow, now: support_actions.cancel_for_customer(
                uow, catalog=self.catalog, now=now, actor=actor, subscription_id=subscription_id
            ),
        )

    def resume_subscription(
        self, subscription_id: str, *, actor: str, form_id: str
    ) -> SubscriptionView:
        return self._once(
            self._key(actor, form_id, "resume_subscription", subscription_id),
            SubscriptionView,
            lambda uow, now: support_actions.resume_for_customer(
                uow, catalog=self.catalog, now=now, actor=actor, subscription_id=subscription_id
            ),
        )

    def refund_order(
        self, order_id: str, *, amount: int | None, reason: str, actor: str, form_id: str
    ) -> RefundView:
        """Money back through the order's provider, asked after the commit (as the API does)."""

        def begin(uow: UnitOfWork, now: datetime) -> str:
            why = support_actions.reason_given(reason)
            refund = money_back.start_refund(
                uow, order_id=order_id, amount=amount, reason="requested_by_customer", now=now
            )
            detail = {"refund": refund.id, "amount": refund.amount, "reason": why}
            self._audit(uow, actor, "order_refunded", order_id, **detail)
            return refund.id

        def send(refund_id: str) -> None:
            # A provider that cannot answer now is asked again from the due-work queue; the
            # page shows the refund pending (or failed, when the provider refused it).
            provider_calls.send_call_of(self.context, "refund", refund_id)

        return run_in_steps(
            self.context,
            self._key(actor, form_id, "refund_order", order_id, amount, reason),
            RefundView,
            begin=begin,
            proceed=send,
            finish=money_back.refund_view,
        )

    def _audit(
        self, uow: UnitOfWork, actor: str, action: str, subject_id: str, **detail: object
    ) -> None:
        uow.refund_requests.audit(
            at=self.clock.now(), actor=actor, action=action, subject_id=subject_id, detail=detail
        )

    @staticmethod
    def _key(actor: str, form_id: str, operation: str, *arguments: object) -> IdempotencyKey:
        if not form_id:
            raise InvalidRequest("This form has no id; reload the page.", field="form_id")
        return IdempotencyKey(
            key=f"form:{form_id}",
            fingerprint=fingerprint(operation, {"args": arguments}),
            scope=f"console:{actor}",
        )
