"""How composed mail leaves the engine: an SMTP server in production, a folder of .eml files
everywhere else (development, demos, tests), so no setup ever mails a real customer by accident.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

Security = Literal["plain", "starttls", "tls"]

_SCHEMES: dict[str, tuple[Security, int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
TIMEOUT = 10.0
"""Seconds per SMTP operation: a dead server must fail a message, not hang the delivery loop."""


class MailDeliveryError(Exception):
    """The message did not leave: the server could not be reached, or refused it. Retryable."""


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand `message` over for delivery, or raise MailDeliveryError."""
        ...


@dataclass(frozen=True)
class SmtpTransport:
    """Mail through an SMTP server (a relay such as Postmark, SES, or the local MTA).

    One connection per message: the outbox sends a few messages at a time, and a fresh
    connection cannot be left broken by the previous message's failure.
    """

    host: str
    port: int
    security: Security = "plain"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SmtpTransport:
        """Parse `smtp://[user:pass@]host[:port][?starttls=true|false]`, `smtp+starttls://…`
        or `smtps://…`; ValueError says what is wrong, never echoing the password."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _SCHEMES:
            raise ValueError(
                f"unknown scheme {parts.scheme + '://' if parts.scheme else '(none)'}; "
                "use smtp://, smtp+starttls:// or smtps://"
            )
        security, default_port = _SCHEMES[scheme]
        if not parts.hostname:
            raise ValueError("no host name (expected e.g. smtp://mail.example.com:587)")
        try:
            port = parts.port
        except ValueError:
            host_port = parts.netloc.rpartition("@")[2]
            raise ValueError(f"port in {host_port!r} is not a number between 0 and 65535") from None
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("unexpected path after the host; only ?starttls= may follow it")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"starttls"})
        if unknown:
            raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; only starttls is known")
        if "starttls" in query:
            values = query["starttls"]
            value = values[-1].lower()
            if len(values) != 1 or value not in ("true", "false"):
                raise ValueError(f"starttls must be true or false, not {values[-1]!r}")
            wanted = value == "true"
            if scheme == "smtps" and wanted:
                raise ValueError("smtps:// is already encrypted; starttls=true contradicts it")
            if scheme == "smtp+starttls" and not wanted:
                raise ValueError("smtp+starttls:// contradicts starttls=false")
            if wanted:
                security, default_port = "starttls", 587
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(
            host=parts.hostname,
            port=port if port is not None else default_port,
            security=security,
            username=username,
            password=password,
        )

    def send(self, message: EmailMessage) -> None:
        try:
            refused = self._send(message)
        except (smtplib.SMTPException, OSError) as error:  # OSError: refused, timeout, TLS
            raise MailDeliveryError(
                f"SMTP {self.host}:{self.port}: {type(error).__name__}: {error}"
            ) from error
        if refused:
            # Messages go to one recipient each, so this is every recipient there was.
            raise MailDeliveryError(f"SMTP {self.host}:{self.port} refused {sorted(refused)}")

    def _send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username is not None:
                smtp.login(self.username, self.password or "")
            return smtp.send_message(message)


class EmlFolderTransport:
    """Each message as `<UTC time>-<uuid>.eml` in a folder: open it in any mail client.

    Written aside and renamed into place, so a reader (or a test) never sees half a message.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        try:
            self._write(message)
        except OSError as error:
            raise MailDeliveryError(f"cannot write to {self.folder}: {error}") from error

    def _write(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4()}.eml"
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(message.as_bytes())
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def transport_from_env(environ: Mapping[str, str]) -> MailTransport:
    """SMTP when `CREDITFLOW_SMTP_URL` is set (and not empty), else a folder of .eml files.

    A malformed URL is a ValueError naming the variable, so the service refuses to start rather
    than queueing mail it can never send.
    """
    url = environ.get("CREDITFLOW_SMTP_URL", "").strip()
    if url:
        try:
            return SmtpTransport.from_url(url)
        except ValueError as error:
            raise ValueError(f"CREDITFLOW_SMTP_URL is malformed: {error}") from None
    return EmlFolderTransport(environ.get("CREDITFLOW_MAIL_DIR", "mail"))
