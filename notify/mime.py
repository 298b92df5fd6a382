"""Messages from templates: Jinja2 text and HTML parts, the invitation part, stable MIME bytes.

Templates are looked up first in the workspace's ``templates/`` directory, then in the package's
``notify/templates``: a coordinator overrides one by putting a file of the same name there (for
example ``WORKSPACE/templates/intro.txt.j2``). A text template's first line is ``Subject: ...``.
HTML templates are autoescaped; every template sees the same variables (see the packaged ones).

Everything in a message derives from its content: the Message-ID and the MIME boundaries come
from the content hash, so rendering the same notice twice gives the same bytes, and a message sent
again after an interruption carries the same Message-ID (a client or a person can tell).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from pathlib import Path
from typing import Any

import jinja2

from cohort.errors import InputError, Problem

TEMPLATE_DIR = "templates"
_POLICY = compat32.clone(linesep="\r\n", max_line_length=998)
_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP  # under the workspace: the coordinator's overrides


class Renderer:
    """Renders ``KIND.txt.j2`` and ``KIND.html.j2`` with the workspace's overrides first."""

    def __init__(self, workspace: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if workspace is not None and (Path(workspace) / TEMPLATE_DIR).is_dir():
            loaders.append(jinja2.FileSystemLoader(str(Path(workspace) / TEMPLATE_DIR)))
        loaders.append(jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")))
        loader = jinja2.ChoiceLoader(loaders)
        common: dict[str, Any] = {
            "loader": loader,
            "undefined": jinja2.StrictUndefined,
            "keep_trailing_newline": True,
            "trim_blocks": True,
            "lstrip_blocks": True,
        }
        self.text = jinja2.Environment(autoescape=False, **common)  # noqa: S701 - plain text
        self.html = jinja2.Environment(autoescape=True, **common)

    def render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
        """``(subject, text, html)`` of a message of ``kind``; a broken template is bad input (65)."""
        try:
            text = self.text.get_template(f"{kind}.txt.j2").render(context)
            html = self.html.get_template(f"{kind}.html.j2").render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(
                [
                    Problem(
                        exc.filename or exc.name or kind,
                        exc.lineno,
                        None,
                        f"template error: {exc.message}",
                        "fix the template",
                    )
                ]
            ) from None
        except jinja2.TemplateError as exc:
            raise InputError(
                [
                    Problem(
                        f"{kind} template",
                        0,
                        None,
                        f"template error: {exc}",
                        "check the variable names against the packaged template",
                    )
                ]
            ) from None
        first, _, rest = text.partition("\n")
        if not first.startswith("Subject:"):
            raise InputError(
                [
                    Problem(
                        f"{kind}.txt.j2",
                        1,
                        None,
                        "the first line must be 'Subject: ...'",
                        "start the template with the subject line",
                    )
                ]
            )
        return first.removeprefix("Subject:").strip(), rest.lstrip("\n"), html


def content_hash(parts: Mapping[str, Any]) -> str:
    """sha256 of what a message says and to whom (its identity in the outbox)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "mentorsync.invalid"


def _text_part(text: str, subtype: str) -> MIMEText:
    """A UTF-8 quoted-printable text part: readable in an .eml file, and no line longer than 76
    octets (SMTP refuses lines over 998; a long paragraph or HTML line would exceed it)."""
    return MIMEText(text, subtype, _UTF8_QP)  # type: ignore[arg-type]  # a Charset works at run time


def _header(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8", maxlinelen=998)


@dataclass(frozen=True)
class Envelope:
    """Who a message is from and to (names as shown, addresses as used)."""

    sender: str
    sender_name: str
    reply_to: str
    to_name: str
    to_addr: str


@dataclass(frozen=True)
class Draft:
    """What a message says: its kind, subject, text and HTML, and for an invitation its iTIP
    calendar part and method."""

    kind: str
    subject: str
    text: str
    html: str
    ics: bytes | None = None
    method: str | None = None


def build(envelope: Envelope, draft: Draft, digest: str) -> tuple[bytes, str]:
    """The message bytes (CRLF lines, no Date header: added when sent) and its Message-ID.

    ``multipart/alternative``: text/plain, text/html and, for an invitation, text/calendar with
    its iTIP method (the structure Google Calendar and Outlook themselves send). Built with the
    ``email.mime`` classes and the compat32 policy: the header-registry API costs ten times more,
    which shows when two thousand people are told at once."""
    msg = MIMEMultipart("alternative", boundary=f"=_ms_{digest[:32]}")
    msg["From"] = formataddr((envelope.sender_name, envelope.sender), charset="utf-8")
    msg["To"] = formataddr((envelope.to_name, envelope.to_addr), charset="utf-8")
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    msg["Subject"] = _header(draft.subject)  # type: ignore[assignment]  # a Header is accepted
    message_id = f"<{digest[:40]}@{_domain(envelope.sender)}>"
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Mentorsync-Kind"] = draft.kind
    msg.attach(_text_part(draft.text, "plain"))
    msg.attach(_text_part(draft.html, "html"))
    if draft.ics is not None:
        part = MIMEText(draft.ics.decode("utf-8"), "calendar", "utf-8")  # base64: CRLF kept exactly
        part.set_param("method", draft.method or "REQUEST")
        msg.attach(part)
    out = io.BytesIO()
    BytesGenerator(out, policy=_POLICY).flatten(msg)
    return out.getvalue(), message_id
