"""Prefect builds a TLS context for every API client it creates, loading certifi's whole CA bundle (~17 ms
of CPU each, tens of clients per run), even when its API is plain http on loopback and no TLS is ever
used. For such an API, point Prefect's CA file at a one-certificate file: the context costs ~0.3 ms, and
should the API turn out to be https after all, verification fails loudly instead of passing silently."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", re.S)


def plain_http(api_url: str | None) -> bool:
    """True for no API URL (Prefect's temporary server: http on 127.0.0.1) or an http:// one."""
    return not api_url or api_url.startswith("http://")


@cache
def one_certificate_file() -> Path:
    """A file holding the first certificate of certifi's bundle: one file per certificate in the temporary
    folder, named by its hash, shared by every process (none is left behind per run)."""
    import certifi

    found = _CERTIFICATE.search(Path(certifi.where()).read_text(encoding="ascii"))
    if found is None:  # pragma: no cover - certifi always ships certificates
        raise RuntimeError(f"no certificate in {certifi.where()}")
    text = found.group(0)
    target = Path(tempfile.gettempdir()) / f"mdp-prefect-ca-{hashlib.sha256(text.encode()).hexdigest()[:16]}.pem"
    if not target.exists() or target.read_text(encoding="ascii") != text:
        with tempfile.NamedTemporaryFile("w", dir=target.parent, prefix=".mdp-ca-", delete=False) as handle:
            handle.write(text)
        os.replace(handle.name, target)  # atomic: a concurrent process reads the old file or the new one
    return target


def lean_tls_settings() -> dict[Any, Any]:
    """Prefect setting updates (for `prefect.settings.temporary_settings`) that spare the per-client CA
    bundle load when the API is plain http (the CA file, configured or defaulted from $SSL_CERT_FILE, is
    never used then); none for an https API or when TLS verification is switched off."""
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY, PREFECT_API_URL

    if not plain_http(PREFECT_API_URL.value()) or PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value():
        return {}
    return {PREFECT_API_SSL_CERT_FILE: str(one_certificate_file())}
