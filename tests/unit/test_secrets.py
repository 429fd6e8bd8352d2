"""Secret references resolve when used and never reach a log line or an error message."""

from __future__ import annotations

import logging

import pytest

from mdp.errors import ConfigError
from mdp.secrets import redact, resolve_secret

SECRET = "EAAB-test-token-7f3a9c"  # pragma: allowlist secret


def test_env_reference_resolves_to_a_secret_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MDP_TEST_TOKEN", SECRET)
    value = resolve_secret("env:MDP_TEST_TOKEN")
    assert value.get_secret_value() == SECRET
    assert SECRET not in repr(value)
    assert SECRET not in str(value)


def test_missing_env_variable_is_named_without_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MDP_ABSENT_TOKEN", raising=False)
    with pytest.raises(ConfigError) as info:
        resolve_secret("env:MDP_ABSENT_TOKEN", key="connectors[0].credentials.access_token")
    assert str(info.value) == (
        "connectors[0].credentials.access_token: environment variable MDP_ABSENT_TOKEN "
        "(from 'env:MDP_ABSENT_TOKEN') is not set or empty"
    )


def test_a_literal_is_not_a_reference_and_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_secret(SECRET)
    assert SECRET not in str(info.value)


def test_resolved_secrets_are_masked_in_every_log_record(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MDP_TEST_TOKEN", SECRET)
    resolve_secret("env:MDP_TEST_TOKEN")
    logger = logging.getLogger("urllib3.connectionpool")
    with caplog.at_level(logging.DEBUG):
        logger.debug("GET /v26.0/act_1/insights?access_token=%s&limit=500", SECRET)
        try:
            raise RuntimeError(f"request failed for token {SECRET}")
        except RuntimeError:
            logger.exception("call failed")
    assert "access_token=***" in caplog.text
    assert SECRET not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_redact_masks_extra_values_too() -> None:
    assert redact("a=shortlived-xyz", extra=["shortlived-xyz"]) == "a=***"
