"""Turning a template name and its context into a ready-to-send email.

Every message carries a text part and an HTML part: the text part is what plain-text clients,
screen readers and spam filters read, so it is written by hand rather than derived from the HTML.
Templates are strict: a context key the template needs and the caller forgot is an error, not an
empty gap in a customer's mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formatdate, make_msgid, parseaddr
from functools import cache
from typing import Any, NoReturn

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


SUBJECTS: dict[str, str] = {
    "order_paid": "{{ site_name }}: payment received for order {{ order_id }}",
    "renewal_paid": "{{ site_name }}: your {{ plan }} subscription is renewed",
    "renewal_failed": "{{ site_name }}: we could not renew your {{ plan }} subscription",
    "subscription_cancelled": "{{ site_name }}: your {{ plan }} subscription is cancelled",
    "subscription_ended": "{{ site_name }}: your {{ plan }} subscription has ended",
    "refund_request_received": "{{ site_name }}: we received your refund request {{ request_id }}",
    "refund_decided": "{{ site_name }}: our answer to your refund request {{ request_id }}",
    "account_suspended": "{{ site_name }}: your account is suspended",
    "webhook_endpoint_disabled": "{{ site_name }}: webhook endpoint {{ endpoint_id }} disabled",
    "portal_sign_in": "{{ site_name }}: your sign-in link",
}
"""Subject templates, one line each; the template files hold the bodies (`<name>.txt/.html`)."""

TEMPLATES: tuple[str, ...] = tuple(SUBJECTS)


def _fail(message: str) -> NoReturn:
    """Lets a template refuse a value it has no wording for, instead of sending a blank."""
    raise ValueError(message)


_environment = Environment(
    loader=PackageLoader("creditflow.mail", "templates"),
    # Only HTML is escaped: in the text part `<` is just a character, and escaping it there
    # would show customers `&lt;`. Subjects are rendered from strings, so never escaped either.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    # The templates ship inside the package and never change under a running server: no
    # checking their files on every message (each renewal renders one).
    auto_reload=False,
)
_environment.globals["fail"] = _fail


@cache
def _subject_template(template: str) -> Template:
    return _environment.from_string(SUBJECTS[template])


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, context: Mapping[str, Any]) -> Rendered:
    """The subject and both parts; ValueError for an unknown template, Jinja2 errors for a
    context that does not fit it."""
    if template not in SUBJECTS:
        raise ValueError(f"unknown mail template {template!r}; known: {', '.join(TEMPLATES)}")
    # A header cannot hold a line break (it would start a new header), so a subject is one line
    # whatever the context holds.
    subject = " ".join(_subject_template(template).render(context).split())
    text = _environment.get_template(f"{template}.txt").render(context)
    html = _environment.get_template(f"{template}.html").render(context)
    return Rendered(subject=subject, text=text, html=html)


def compose(
    template: str,
    context: Mapping[str, Any],
    *,
    sender: str,
    to: str,
    attachments: Sequence[Attachment] = (),
    date: datetime | None = None,
) -> EmailMessage:
    """An email ready for a transport: text and HTML alternatives, then any attachments.

    `date` is the engine clock's instant when given, so mail sent under a test clock carries the
    test's time; otherwise the wall clock.
    """
    rendered = render(template, context)
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = format_datetime(date) if date is not None else formatdate(usegmt=True)
    # The sender's domain, not the host name: make_msgid's default asks DNS for this machine's
    # name, which can be slow and leaks an internal host name.
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.name
        )
    return message
