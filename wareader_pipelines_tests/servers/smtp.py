"""An aiosmtpd server on 127.0.0.1 with STARTTLS (a throwaway certificate) and AUTH LOGIN/PLAIN."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USERNAME = "wareader"
SMTP_PASSWORD = "smtp-test-password"


@dataclass
class SmtpServer:
    """Where the server listens, the CA file that trusts it, and the mail it received."""

    host: str
    port: int
    ca_file: str
    received: list[Envelope] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _OwnPortController(Controller):
    """aiosmtpd's controller binding port 0: the OS picks the port as it binds, and the port
    is read back from the listening socket before the controller's first connection to it."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = int(self.server.sockets[0].getsockname()[1])
        super()._trigger_server()


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    """A STARTTLS-only SMTP server that wants a login; stopped afterwards."""
    cert_path, key_path = _certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)
    server = SmtpServer(host="127.0.0.1", port=0, ca_file=str(cert_path))  # 0 until bound

    class Handler:
        async def handle_DATA(self, _server: object, _session: object, envelope: Envelope) -> str:
            server.received.append(envelope)
            return "250 Message accepted for delivery"

    def authenticate(
        _server: object, _session: object, _envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        if (
            isinstance(data, LoginPassword)
            and data.login.decode() == SMTP_USERNAME
            and data.password.decode() == SMTP_PASSWORD
        ):
            server.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    controller = _OwnPortController(
        Handler(),
        hostname=server.host,
        port=0,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    server.port = controller.port
    try:
        yield server
    finally:
        controller.stop()
