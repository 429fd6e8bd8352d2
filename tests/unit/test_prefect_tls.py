"""Prefect's per-client TLS context is made cheap only for a plain-http API, never for an https one."""

from __future__ import annotations

import ssl

from prefect.settings import (
    PREFECT_API_SSL_CERT_FILE,
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_API_URL,
    temporary_settings,
)

from mdp.prefect_tls import lean_tls_settings, one_certificate_file, plain_http


def test_only_no_url_or_http_counts_as_plain() -> None:
    assert plain_http(None)
    assert plain_http("")
    assert plain_http("http://127.0.0.1:4200/api")
    assert not plain_http("https://api.prefect.cloud/api/accounts/a/workspaces/w")


def test_a_plain_http_api_gets_a_one_certificate_ca_file_that_ssl_accepts() -> None:
    configured = {PREFECT_API_URL: "http://127.0.0.1:4200/api", PREFECT_API_SSL_CERT_FILE: "/etc/ssl/certs/ca.pem"}
    with temporary_settings(updates=configured):  # the CA file is never used over http
        updates = lean_tls_settings()
    assert updates == {PREFECT_API_SSL_CERT_FILE: str(one_certificate_file())}
    assert one_certificate_file().read_text(encoding="ascii").count("BEGIN CERTIFICATE") == 1
    # one stable file for every process, not a new temporary file per run
    assert one_certificate_file().name.startswith("mdp-prefect-ca-")
    one_certificate_file.cache_clear()
    assert updates == {PREFECT_API_SSL_CERT_FILE: str(one_certificate_file())}
    context = ssl.create_default_context(cafile=updates[PREFECT_API_SSL_CERT_FILE])
    assert context.verify_mode == ssl.CERT_REQUIRED  # still verifying, should TLS ever be used


def test_https_or_skip_verify_is_left_alone() -> None:
    for updates in (
        {PREFECT_API_URL: "https://prefect.example.com/api", PREFECT_API_SSL_CERT_FILE: "/etc/ssl/certs/ca.pem"},
        {PREFECT_API_URL: "https://prefect.example.com/api"},
        {PREFECT_API_URL: "http://127.0.0.1:4200/api", PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True},
    ):
        with temporary_settings(updates=updates):
            assert lean_tls_settings() == {}
