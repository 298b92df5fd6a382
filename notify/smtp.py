"""Delivery over SMTP (``smtplib``): STARTTLS or TLS, login, a rate limit, one message at a time.

Certificates are checked against the system's trust store (``ssl.create_default_context``; the
``SSL_CERT_FILE`` environment variable points it at another bundle).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate

from cohort.errors import DeliveryError, InputError, Problem
from cohort.program import SMTP_PASSWORD_ENV, EmailSettings, key_line


def _problem(file: str, text: str, key: str, message: str, hint: str | None = None) -> Problem:
    return Problem(file, key_line(text, "email", key), f"email.{key}", message, hint)


def settings_problems(email: EmailSettings, file: str, text: str, *, sending: bool) -> list[Problem]:
    """What is missing or wrong in ``[email]`` for composing (``sending=False``) or sending."""
    problems = []
    if "@" not in email.sender:
        problems.append(
            _problem(
                file,
                text,
                "from",
                f"{email.sender!r} is not an email address" if email.sender else "not set",
                'the coordinator\'s address, e.g. from = "mentoring@example.org"',
            )
        )
    if email.reply_to and "@" not in email.reply_to:
        problems.append(
            _problem(
                file,
                text,
                "reply_to",
                f"{email.reply_to!r} is not an email address",
                "an address, or leave it empty",
            )
        )
    if not sending:
        return problems
    if not email.host:
        problems.append(
            _problem(
                file,
                text,
                "host",
                "not set",
                'the SMTP server, e.g. host = "smtp.example.org" (or use --dry-run)',
            )
        )
    if email.username and not os.environ.get(SMTP_PASSWORD_ENV):
        problems.append(
            _problem(
                file,
                text,
                "username",
                f"a login is set but {SMTP_PASSWORD_ENV} is empty",
                f"export {SMTP_PASSWORD_ENV}=... before `mentorsync notify`",
            )
        )
    local = email.host in ("localhost", "127.0.0.1", "::1")
    if email.security == "none" and email.username and not local:
        problems.append(
            _problem(
                file,
                text,
                "security",
                "'none' would send the password unencrypted",
                "use 'starttls' or 'tls'; 'none' is for a relay on the same machine",
            )
        )
    return problems


@dataclass
class Connection:
    """An open, logged-in SMTP session and its pacing."""

    smtp: smtplib.SMTP
    interval: float
    next_at: float = 0.0

    def send(self, sender: str, recipient: str, body: bytes) -> None:
        """Deliver one message (Date added now); raises ``smtplib`` errors as they come."""
        wait = self.next_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.next_at = time.monotonic() + self.interval
        data = f"Date: {formatdate(usegmt=True)}\r\n".encode() + body
        self.smtp.sendmail(sender, [recipient], data)

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (smtplib.SMTPException, OSError):
            self.smtp.close()


def connect(
    email: EmailSettings, file: str, text: str, factory: Callable[..., smtplib.SMTP] | None = None
) -> Connection:
    """Open the session ``[email]`` describes; unreachable: ``DeliveryError`` (69), refused
    settings (no STARTTLS, a wrong login): ``InputError`` (65) naming the key."""
    where = f"{email.host}:{email.port}"
    context = ssl.create_default_context()
    smtp = _open(email, file, context, factory)
    try:
        _greet(smtp, email, file, text, context)
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        message = f"{where} refused the login: {exc.smtp_code} {_text(exc.smtp_error)}"
        hint = f"check email.username and {SMTP_PASSWORD_ENV}"
        raise InputError([_problem(file, text, "username", message, hint)]) from None
    except smtplib.SMTPNotSupportedError as exc:
        smtp.close()
        message, hint = f"{where} does not accept a login: {exc}", "leave username empty, or use starttls/tls"
        raise InputError([_problem(file, text, "username", message, hint)]) from None
    except (ssl.SSLError, ssl.CertificateError) as exc:
        smtp.close()
        raise DeliveryError(
            f"the TLS handshake with {where} failed: {exc} (a self-signed certificate? "
            "set SSL_CERT_FILE to its CA bundle)"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        raise DeliveryError(
            f"the SMTP server {where} failed during the greeting: {exc}; nothing was sent"
        ) from None
    except BaseException:
        smtp.close()
        raise
    return Connection(smtp, 60.0 / email.messages_per_minute)


def _open(
    email: EmailSettings, file: str, context: ssl.SSLContext, factory: Callable[..., smtplib.SMTP] | None
) -> smtplib.SMTP:
    """The connection to the server (TLS from the start with ``security = "tls"``)."""
    where = f"{email.host}:{email.port}"
    try:
        if email.security == "tls":
            return smtplib.SMTP_SSL(email.host, email.port, timeout=email.timeout_seconds, context=context)
        return (factory or smtplib.SMTP)(email.host, email.port, timeout=email.timeout_seconds)
    except ssl.SSLError as exc:
        raise DeliveryError(
            f"cannot open a TLS connection to {where} (email.security = 'tls'): {exc}; "
            "is the port for TLS (usually 465)?"
        ) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"cannot reach the SMTP server {where} (email.host, email.port in {file}): "
            f"{exc or type(exc).__name__}; nothing was sent"
        ) from None


def _greet(smtp: smtplib.SMTP, email: EmailSettings, file: str, text: str, context: ssl.SSLContext) -> None:
    """EHLO, STARTTLS when asked for (refused: ``InputError`` naming ``email.security``), login."""
    smtp.ehlo()
    if email.security == "starttls":
        if not smtp.has_extn("starttls"):
            message = f"{email.host}:{email.port} does not offer STARTTLS"
            hint = 'security = "tls" on port 465, or "none" for a local relay'
            raise InputError([_problem(file, text, "security", message, hint)])
        smtp.starttls(context=context)
        smtp.ehlo()
    if email.username:
        try:
            smtp.login(email.username, os.environ.get(SMTP_PASSWORD_ENV, ""))
        except smtplib.SMTPServerDisconnected:  # some servers hang up after a failed login
            raise smtplib.SMTPAuthenticationError(535, b"the server closed the connection") from None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


PERMANENT = "failed"
RETRY = "pending"


def classify(exc: BaseException) -> tuple[str, str, bool]:
    """``(status, error text, stop)`` for an exception raised while sending one message.

    A refused recipient or message: that message fails (5xx) or waits (4xx), the others go on. A
    refused sender, a dropped connection or a timeout: the run stops, the message stays pending."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return (PERMANENT if code >= 500 else RETRY), f"{code} {_text(text)}", False
    if isinstance(exc, smtplib.SMTPDataError):
        return (
            (PERMANENT if exc.smtp_code >= 500 else RETRY),
            f"{exc.smtp_code} {_text(exc.smtp_error)}",
            False,
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return RETRY, f"sender refused: {exc.smtp_code} {_text(exc.smtp_error)}", True
    if isinstance(exc, (smtplib.SMTPException, OSError, socket.timeout)):
        return RETRY, f"connection lost: {exc or type(exc).__name__}", True
    raise exc
