"""Self-signed TLS certificate for the Google Ads sandbox, and the CA bundle gRPC clients must trust.

gRPC reads `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` once per process, at its first TLS channel. So one
certificate serves a whole process (`process_certificate`), and `trust_sandbox_certificate` must run
before the process opens its first gRPC channel. Keys live in a temporary (or configured) directory,
never in the repository.
"""

from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import logging
import os
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger(__name__)

GRPC_ROOTS_ENV = "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"
CERT_DIR_ENV = "MDP_SANDBOX_CERT_DIR"
CERT_FILE = "sandbox-cert.pem"
KEY_FILE = "sandbox-key.pem"
BUNDLE_FILE = "sandbox-ca-bundle.pem"
_VALIDITY = dt.timedelta(days=30)

_lock = threading.Lock()
_process_cert: Certificate | None = None
_original_roots = os.environ.get(GRPC_ROOTS_ENV)


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path

    @property
    def directory(self) -> Path:
        return self.cert_path.parent

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    @property
    def bundle_path(self) -> Path:
        return self.directory / BUNDLE_FILE


def create_certificate(directory: Path) -> Certificate:
    """Write a new self-signed certificate for `localhost` and `127.0.0.1` (EC P-256) to `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mdp-sandbox.localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_path = directory / KEY_FILE
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_path = directory / CERT_FILE
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    logger.info("sandbox TLS certificate written to %s", cert_path)
    return Certificate(cert_path, key_path)


def load_or_create_certificate(directory: Path) -> Certificate:
    """Reuse the certificate in `directory` while it is valid for another day, else create one."""
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=1):
                return Certificate(cert_path, key_path)
        except ValueError:
            logger.warning("unreadable sandbox certificate in %s; creating a new one", directory)
    return create_certificate(directory)


def process_certificate(directory: Path | None = None) -> Certificate:
    """The one certificate of this process (created on first use).

    Its directory is, in order: `directory`, `$MDP_SANDBOX_CERT_DIR`, or a temporary directory removed
    at exit. Later calls return the first certificate whatever `directory` they pass."""
    global _process_cert
    with _lock:
        if _process_cert is None:
            chosen = directory or (Path(p) if (p := os.environ.get(CERT_DIR_ENV)) else None)
            if chosen is None:
                chosen = Path(tempfile.mkdtemp(prefix="mdp-sandbox-tls-"))
                atexit.register(shutil.rmtree, chosen, ignore_errors=True)
            _process_cert = load_or_create_certificate(chosen)
        elif directory is not None and directory.resolve() != _process_cert.directory.resolve():
            logger.debug("sandbox certificate already chosen in %s", _process_cert.directory)
        return _process_cert


def _system_roots() -> bytes:
    candidates = [_original_roots, ssl.get_default_verify_paths().cafile]
    try:
        import certifi

        candidates.append(certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests
        pass
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and Path(candidate).name != BUNDLE_FILE:
            return Path(candidate).read_bytes()
    logger.warning("no system CA bundle found; the sandbox bundle trusts the sandbox certificate only")
    return b""


def write_ca_bundle(certificate: Certificate, path: Path | None = None) -> Path:
    """Write the system roots plus the sandbox certificate to one PEM bundle; returns its path."""
    target = path or certificate.bundle_path
    roots = _system_roots()
    if roots and not roots.endswith(b"\n"):
        roots += b"\n"
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(roots + certificate.cert_pem)
    tmp.replace(target)
    return target


def trust_sandbox_certificate(certificate: Certificate | None = None) -> Path:
    """Write the CA bundle and point `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH` at it (assigned, not defaulted).

    Call it before the first gRPC TLS channel of the process: gRPC reads the variable only once."""
    cert = certificate or process_certificate()
    bundle = write_ca_bundle(cert)
    previous = os.environ.get(GRPC_ROOTS_ENV)
    os.environ[GRPC_ROOTS_ENV] = str(bundle)
    if previous != str(bundle):
        logger.info("%s=%s (was %s)", GRPC_ROOTS_ENV, bundle, previous)
    return bundle
