"""Real SMTP servers for the notify tests: aiosmtpd on localhost, plain, STARTTLS or TLS, with
AUTH, and a throwaway self-signed certificate made with the openssl CLI."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "coordinator", "s3cret-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@dataclass
class Sink:
    """Collects what the server accepted; refuses the recipients in ``refuse`` with a 550."""

    refuse: set[str] = field(default_factory=set)
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(body, policy=default) for _, _, body in self.received]  # type: ignore[misc]


def _auth(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok)


def start_server(sink: Sink, security: str, cert: tuple[Path, Path] | None) -> tuple[Controller, int]:
    """A running server: ``starttls`` (AUTH required after STARTTLS), ``tls`` or ``none``."""
    port = free_port()
    kwargs: dict = {}
    if security != "none":
        assert cert is not None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        if security == "starttls":
            kwargs = {
                "tls_context": ctx,
                "require_starttls": True,
                "authenticator": _auth,
                "auth_required": True,
            }
        else:
            kwargs = {
                "ssl_context": ctx,
                "authenticator": _auth,
                "auth_required": True,
                "auth_require_tls": False,
            }
    controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port
