"""One-time links into the customer portal, as Stripe's billing portal opens.

The site's backend mints a link for one account (it works once, within 10 minutes); or the
member, holding only their email address, asks for one by mail (15 minutes). Opening a link
turns it into a portal session bound to that account: the link's token, 256 random bits, is
kept only as its SHA-256, so neither a database reader nor a log of used links can open it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from creditflow.domain.errors import AccountSuspended, CreditflowError, InvalidRequest
from creditflow.ids import new_id
from creditflow.services.accounts import require_account
from creditflow.services.web_sessions import start_session, token_hash
from creditflow.store.portal_links import PortalLinkRecord
from creditflow.store.uow import UnitOfWork

MINTED_FOR = timedelta(minutes=10)
MAILED_FOR = timedelta(minutes=15)
MAILS_PER_HOUR = 5
"""Sign-in mails to one account per hour: enough for a member, too few to flood their inbox."""


class LinkUnusable(CreditflowError):
    """A portal link that was used, has expired, or never was; `reason` says which."""

    code = "portal_link_unusable"


@dataclass(frozen=True, slots=True)
class MintedLink:
    id: str
    account_id: str
    token: str
    """Goes in the link's URL; never stored."""
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OpenedLink:
    account_id: str
    session_token: str
    return_url: str | None


def checked_return_url(url: str | None) -> str | None:
    """Where the portal's "back to the site" goes: an absolute http(s) URL, or nothing."""
    if url is None or url == "":
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise InvalidRequest(
            "return_url must be an absolute http or https URL of at most 2000 characters.",
            field="return_url",
        )
    return url


def mint_link(
    uow: UnitOfWork,
    *,
    account_id: str,
    return_url: str | None,
    now: datetime,
    via: str = "api",
) -> MintedLink:
    account = require_account(uow, account_id)
    if account.status == "suspended":
        raise AccountSuspended(
            f"Account {account_id} is suspended; its portal is closed.", account_id=account_id
        )
    token = secrets.token_urlsafe(32)
    link = PortalLinkRecord(
        id=new_id("pls"),
        token_hash=token_hash(token),
        account_id=account.id,
        via=via,
        return_url=checked_return_url(return_url),
        created_at=now,
        expires_at=now + (MINTED_FOR if via == "api" else MAILED_FOR),
        used_at=None,
    )
    uow.portal_links.add(link)
    return MintedLink(id=link.id, account_id=account.id, token=token, expires_at=link.expires_at)


def open_link(uow: UnitOfWork, *, token: str, now: datetime) -> OpenedLink:
    """The session a link opens, once; `LinkUnusable` says why not."""
    link = uow.portal_links.by_token_hash(token_hash(token)) if token else None
    if link is None:
        raise LinkUnusable("This link is not one of ours.", reason="unknown")
    if link.used_at is not None:
        raise LinkUnusable("This link has been used already.", reason="used")
    if now >= link.expires_at:
        raise LinkUnusable("This link has expired.", reason="expired")
    account = require_account(uow, link.account_id)
    if account.status == "suspended":
        raise LinkUnusable("This account is suspended.", reason="suspended")
    if not uow.portal_links.use(link.id, now):
        raise LinkUnusable("This link has been used already.", reason="used")
    session = start_session(uow, kind="portal", subject_id=account.id, now=now)
    return OpenedLink(account_id=account.id, session_token=session, return_url=link.return_url)


def mail_link_to(uow: UnitOfWork, *, email: str, now: datetime) -> list[MintedLink]:
    """A link for each live account with this address. The page that asks says the same
    whatever comes of it, so an unknown address, a suspended account or one mailed too often
    (more than 5 an hour: a flood) simply gets nothing."""
    links: list[MintedLink] = []
    for account_id in uow.accounts.ids_with_email(email.strip())[:5]:
        account = require_account(uow, account_id)
        if account.status == "suspended":
            continue
        if uow.portal_links.mailed_since(account_id, now - timedelta(hours=1)) >= MAILS_PER_HOUR:
            continue
        links.append(mint_link(uow, account_id=account_id, return_url=None, now=now, via="mail"))
    return links
