"""The exception hierarchy shared by every layer."""

from __future__ import annotations

# Characters str.splitlines() breaks on: none of them may reach a one-line error message.
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(message: str) -> str:
    """`message` with every line break written as its escape (`\\n`), so it prints as one line."""
    return message.translate(_LINE_BREAKS)


class MDPError(Exception):
    """Base class of every error this platform raises on purpose."""


class ConfigError(MDPError):
    """The configuration is invalid or a secret reference cannot be resolved."""


class WarehouseError(MDPError):
    """A warehouse operation failed; the previous state is intact."""


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse file."""


class ScopeError(WarehouseError):
    """Rows fall outside the (account, day) units a replace declared."""


class SchemaConflictError(WarehouseError):
    """A column changed to an incompatible type."""


class ConnectorError(MDPError):
    """A source API failed in a way that is not worth retrying (auth, permission, bad request)."""


class RetryableAPIError(ConnectorError):
    """A source API failed in a way that may succeed later (rate limit, 5xx, timeout).

    `retry_after` is the delay the API asked for, in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
