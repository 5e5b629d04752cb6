"""The station's local certificate authority and its HTTPS server certificate.

On first start the station creates a CA (``tls/ca.crt`` + ``tls/ca.key`` in the data directory,
10 years). The server certificate (``tls/server.crt`` + ``server.key``) is signed by that CA and
names every address a Pilot may type: each LAN address, 127.0.0.1, the configured public host,
the host name and ``localhost``. It is re-issued when that set of names changes or when it is
within 30 days of expiry; the CA stays, so an RC that installed the CA keeps trusting the
station. The operator downloads ``/ca.crt`` from the station and installs it on the RC.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_DIR = "tls"
CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)
_DNS_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for the HTTPS listener (TLS 1.2+)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.server_cert, self.server_key)
        return ctx

    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()

    def ca_der(self) -> bytes:
        cert = x509.load_pem_x509_certificate(self.ca_pem())
        return cert.public_bytes(serialization.Encoding.DER)


def server_names(addresses: list[str], extra: list[str] | None = None) -> list[str]:
    """The sorted, de-duplicated names for the server certificate."""
    names = {"127.0.0.1", "localhost", *addresses, *(extra or [])}
    hostname = socket.gethostname()
    if hostname:
        names.add(hostname)
    return sorted(n for n in names if _usable_name(n))


def _usable_name(name: str) -> bool:
    """An IP address (not a wildcard) or an ASCII DNS name a certificate can carry."""
    try:
        return not ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return bool(_DNS_RE.match(name))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_ca(tls_dir: Path, org: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = tls_dir / "ca.crt", tls_dir / "ca.key"
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            if isinstance(key, ec.EllipticCurvePrivateKey) and cert.not_valid_after_utc > _now():
                return cert, key
        except ValueError:
            pass  # unreadable: make a new CA
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{org} local CA ({socket.gethostname()})"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _san(names: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def _current_names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    ips = [str(i) for i in ext.get_values_for_type(x509.IPAddress)]
    return sorted([*ips, *ext.get_values_for_type(x509.DNSName)])


def ensure_certificates(data_dir: Path, names: list[str], org: str = "GCS") -> TlsFiles:
    """Create the CA if needed and (re-)issue the server certificate when stale.

    Args:
        data_dir: the station's data directory (files go to ``tls/``).
        names: IP addresses and host names the certificate must cover (see `server_names`).
        org: organisation name written into the certificates.

    Returns:
        The paths of the CA certificate and the server certificate and key.

    Raises:
        OSError: the folder is not writable.
    """
    tls_dir = data_dir / TLS_DIR
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _load_ca(tls_dir, org)
    files = TlsFiles(tls_dir / "ca.crt", tls_dir / "server.crt", tls_dir / "server.key")
    wanted = sorted(set(names))
    if files.server_cert.exists() and files.server_key.exists():
        try:
            cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
            fresh = cert.not_valid_after_utc - _now() > RENEW_BEFORE
            same_ca = cert.issuer == ca_cert.subject
            if fresh and same_ca and _current_names(cert) == wanted:
                ca_pub = ca_key.public_key()
                sig_hash = cert.signature_hash_algorithm
                if sig_hash is not None:
                    ca_pub.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(sig_hash))
                    return files
        except Exception:  # unreadable or signed by another CA: re-issue
            pass
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cn = next((n for n in wanted if n not in ("127.0.0.1", "localhost")), "localhost")
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                    x509.NameAttribute(NameOID.COMMON_NAME, cn[:64]),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(_san(wanted)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.server_key, _key_pem(key))
    _write_public(files.server_cert, cert.public_bytes(serialization.Encoding.PEM))
    return files
