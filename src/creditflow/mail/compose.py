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

from jinja2 import (
    Environment,
    PackageLoader,
    StrictUndefined,
    Template,
    UndefinedError,
    meta,
    nodes,
    select_autoescape,
)


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


def check_fits(template: str, context: Mapping[str, Any]) -> None:
    """Raise what `render` would raise for a context that does not fit the template, without
    rendering it when the answer does not need that.

    A template that only prints context values as they are, and asks whether optional ones are
    defined, fails for one reason only: a name it prints is missing. For those, with every
    optional name given, checking the names is the whole check, at a fraction of a render's
    cost (every renewal queues a message). A template that does more with its values (loops,
    attributes, filters, calls such as `fail`) can fail on a value, so it is rendered; so is
    one whose optional names are not all given (whether it prints them unguarded somewhere,
    only rendering tells).
    """
    names = _printed_names(template)
    if names is None or not names.optional.issubset(context):
        render(template, context)
        return
    missing = sorted(names.needed.difference(context))
    if missing:
        raise UndefinedError(f"{missing[0]!r} is undefined")


@dataclass(frozen=True, slots=True)
class _PrintedNames:
    needed: frozenset[str]
    optional: frozenset[str]
    """Names the template tests with `is defined`."""


_DOES_MORE = (
    nodes.Getattr,
    nodes.Getitem,
    nodes.Call,
    nodes.Filter,
    nodes.For,
    nodes.Macro,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Assign,
    nodes.With,
    nodes.BinExpr,  # `a + 1` fails on a string; comparing a string with a number, too
    nodes.UnaryExpr,
    nodes.Compare,
)
"""What a template may do with a value that can fail on the value itself; but `and`, `or` and
`not` only ask whether a value is true, which a JSON value always answers."""
_LOGIC = (nodes.And, nodes.Or, nodes.Not)


@cache
def _printed_names(template: str) -> _PrintedNames | None:
    """The names a template, and the templates it extends, use, when printing them as they are
    and testing whether they are defined is all they do with them; None otherwise."""
    loader = _environment.loader
    assert loader is not None
    trees = [_environment.parse(SUBJECTS[template])]
    pending = [f"{template}.txt", f"{template}.html"]
    while pending:
        source = loader.get_source(_environment, pending.pop())[0]
        trees.append(_environment.parse(source))
        pending.extend(name for name in meta.find_referenced_templates(trees[-1]) if name)
    needed: set[str] = set()
    optional: set[str] = set()
    for tree in trees:
        if any(not isinstance(node, _LOGIC) for node in tree.find_all(_DOES_MORE)):
            return None
        tested = {
            test.node.name
            for test in tree.find_all(nodes.Test)
            if test.name in ("defined", "undefined") and isinstance(test.node, nodes.Name)
        }
        optional |= tested
        needed |= meta.find_undeclared_variables(tree) - tested
    return _PrintedNames(frozenset(needed - optional), frozenset(optional))


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
