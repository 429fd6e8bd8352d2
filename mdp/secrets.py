"""Secret references (`env:NAME`, `block:NAME`) resolved when used, and kept out of every log line.

Each resolved value is registered with a log-record redactor, so that a secret which reaches a log
message anyway (a URL logged by an HTTP library, a repr in a traceback) is printed as `***`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

from pydantic import SecretStr

from mdp.config import SECRET_REF_PATTERN
from mdp.errors import ConfigError

MASK = "***"
_MIN_SECRET_LENGTH = 4
_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def resolve_secret(reference: str, *, key: str = "credentials") -> SecretStr:
    """Return the value behind `env:NAME` or `block:NAME`.

    Raises:
        ConfigError: naming the key and the reference (never a value) when it cannot be resolved.
    """
    match = SECRET_REF_PATTERN.fullmatch(reference)
    if not match:
        raise ConfigError(f"{key}: expected 'env:NAME' or 'block:NAME', got a value that is neither")
    kind, name = match.groups()
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"{key}: environment variable {name} (from {reference!r}) is not set or empty")
    else:
        value = _load_secret_block(name, key)
    register_secret(value)
    return SecretStr(value)


def _load_secret_block(name: str, key: str) -> str:
    from prefect.blocks.system import Secret

    try:
        block = Secret.load(name, _sync=True)  # type: ignore[call-arg]  # a coroutine in an async flow's context
    except ValueError as exc:
        raise ConfigError(f"{key}: Prefect Secret block {name!r} cannot be loaded ({exc})") from None
    value = block.get()  # type: ignore[union-attr]
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: Prefect Secret block {name!r} must hold a non-empty string")
    return value


def register_secret(value: str) -> None:
    """Mask `value` in every log record from now on (in this process)."""
    if len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(value)
    _install_record_factory()


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every registered secret (and each of `extra`) replaced by `***`."""
    with _lock:
        known = list(_secrets)
    for secret in sorted([*known, *extra], key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def _install_record_factory() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):
                record.exc_text = redact("".join(logging.Formatter().formatException(record.exc_info)).rstrip("\n"))
        return record

    logging.setLogRecordFactory(factory)
