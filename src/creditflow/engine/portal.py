"""The customer portal's sign-in: one-time links, and the sessions they become.

Like the console's, links and sessions run on the wall clock: a link is a browser credential
with a life of minutes, whatever clock the books run on. What a member does in the portal goes
through the engine's ordinary use cases (checkout, subscriptions, refund requests), each
checked against the session's account by the pages.
"""

from __future__ import annotations

from datetime import datetime

from creditflow.clock import Clock
from creditflow.domain.errors import Conflict
from creditflow.engine.parts import IdempotencyArg, Part, key_for
from creditflow.services import portal_links, subscriptions, usage, web_sessions
from creditflow.services.accounts import account_view
from creditflow.services.context import ServiceContext
from creditflow.services.mail import enqueue_mail
from creditflow.services.portal_links import OpenedLink
from creditflow.services.views import AccountView, PlanChangeView, View
from creditflow.services.web_sessions import BrowserSession
from creditflow.store.uow import UnitOfWork


class PortalLinkView(View):
    id: str
    token: str
    expires_at: datetime


class Portal(Part):
    def __init__(self, context: ServiceContext, *, wall_clock: Clock, public_url: str) -> None:
        super().__init__(context)
        self.wall_clock = wall_clock
        self.public_url = public_url
        """Where this server is reached from outside (CREDITFLOW_PUBLIC_URL), for mailed links;
        empty when not configured, and mails then carry no portal link."""

    @property
    def provider(self) -> str | None:
        """Who takes the portal's payments: the site's one configured provider (Stripe, Paddle
        or Creem, in that order when several are set), else the `test` provider (None)."""
        configured = [
            name for name in ("stripe", "paddle", "creem") if name in self.context.adapters
        ]
        return configured[0] if configured else None

    def spending(self, account_id: str, *, days: int) -> usage.Spending:
        """Credits spent per day by operation over the last `days` days, in the site's zone."""
        return self._read(
            lambda uow: usage.spent_by_day(
                uow,
                account_id=account_id,
                now=self.clock.now(),
                days=days,
                zone=self.catalog.site.zone,
            )
        )

    def mint_link(self, account_id: str, *, return_url: str | None = None) -> PortalLinkView:
        """A link for the site's backend to send its member to; it works once, in 10 minutes."""

        def mint(uow: UnitOfWork) -> PortalLinkView:
            made = portal_links.mint_link(
                uow, account_id=account_id, return_url=return_url, now=self.wall_clock.now()
            )
            return PortalLinkView(id=made.id, token=made.token, expires_at=made.expires_at)

        return self._plain(mint)

    def open_link(self, token: str) -> OpenedLink:
        return self._plain(
            lambda uow: portal_links.open_link(uow, token=token, now=self.wall_clock.now())
        )

    def mail_link(self, email: str, *, base_url: str) -> None:
        """Mail a one-time link (15 minutes) to each account with this address; say nothing of
        whether there was one."""

        def send(uow: UnitOfWork) -> None:
            now = self.wall_clock.now()
            for link in portal_links.mail_link_to(uow, email=email, now=now):
                account = uow.accounts.get(link.account_id)
                assert account is not None  # the link was just made for it
                enqueue_mail(
                    uow,
                    now=self.clock.now(),
                    to=account.email or email,
                    template="portal_sign_in",
                    context={
                        "url": f"{base_url}/portal/open/{link.token}",
                        "minutes": int(portal_links.MAILED_FOR.total_seconds() // 60),
                    },
                    account_id=account.id,
                )

        self._plain(send)

    def session(self, token: str) -> tuple[BrowserSession, AccountView] | None:
        """The live portal session of a cookie's token and its account; a suspended account's
        sessions end."""

        def resume(uow: UnitOfWork) -> tuple[BrowserSession, AccountView] | None:
            now = self.wall_clock.now()
            live = web_sessions.resume_session(uow, kind="portal", token=token, now=now)
            account = uow.accounts.get(live.subject_id) if live else None
            if live is None or account is None:
                return None
            if account.status == "suspended":
                web_sessions.end_session(uow, token=token, now=now)
                return None
            return live, account_view(account)

        return self._plain(resume)

    def sign_out(self, token: str) -> None:
        self._plain(
            lambda uow: web_sessions.end_session(uow, token=token, now=self.wall_clock.now())
        )

    # The plan page: a plan change previewed, then made as it was shown

    def preview_plan_change(
        self, subscription_id: str, *, plan: str | None, interval: str | None
    ) -> PlanChangeView:
        """What changing the plan now would do, found by doing it in a transaction that is never
        committed: the charge and the credits are the use case's own, to the unit, and nothing
        stays. A provider is only called after a commit, so no call goes out."""
        return self._rehearse(
            lambda uow, now: subscriptions.change_plan(
                uow,
                catalog=self.catalog,
                providers=self.context.providers,
                now=now,
                subscription_id=subscription_id,
                plan=plan,
                interval=interval,
            )
        )

    def change_plan_as_shown(
        self,
        subscription_id: str,
        *,
        plan: str | None,
        interval: str | None,
        charge: int | None,
        credits: int | None,
        idempotency_key: IdempotencyArg = None,
    ) -> PlanChangeView:
        """The change the member confirmed, only if it still charges and grants what its preview
        said: between the preview and the click the period has run on, and a proration that
        crossed a rounding step is refused (`preview_outdated`, nothing done) rather than
        charged. `charge` and `credits` are None for a change that waits for the period end."""

        def change(uow: UnitOfWork, now: datetime) -> PlanChangeView:
            made = subscriptions.change_plan(
                uow,
                catalog=self.catalog,
                providers=self.context.providers,
                now=now,
                subscription_id=subscription_id,
                plan=plan,
                interval=interval,
            )
            proration = made.proration
            done = (proration.charge.amount, proration.credits_granted) if proration else None
            if done != (None if charge is None else (charge, credits)):
                raise Conflict(
                    "What this change costs has moved on since it was shown; nothing was "
                    "charged. Look at it again and confirm.",
                    code="preview_outdated",
                )
            return made

        key = key_for(
            idempotency_key,
            "change_plan_as_shown",
            subscription_id,
            plan,
            interval,
            charge,
            credits,
        )
        return self._once(key, PlanChangeView, change)
