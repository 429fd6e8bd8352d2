"""The Connector interface every source implements. Connectors never touch the warehouse."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import ConfigDict, Field

from mdp.config import NAME_PATTERN, SecretRef, StrictScalars
from mdp.schema import QuarantinedRow, TableSpec


class ConnectorSettings(StrictScalars):
    """A connector's validated configuration section. Subclasses add their own keys; unknown keys fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    enabled: bool = True
    lookback_days: int | None = Field(None, ge=0, le=400)
    accounts: list[str] = Field(default_factory=list)
    credentials: dict[str, SecretRef] = Field(default_factory=dict)
    chunk_days: int = Field(31, ge=1, le=366)
    max_concurrency: int = Field(4, ge=1, le=64)
    unit_retries: int = Field(3, ge=0, le=20)
    max_retry_wait_minutes: float = Field(15.0, gt=0, le=1440)


@dataclass(frozen=True)
class Account:
    """An ad account as the source describes it."""

    id: str
    name: str | None = None
    currency: str | None = None
    time_zone: str | None = None


@dataclass
class Extracted:
    """One batch of extracted rows (typed by the connector's raw schema) and the rows it rejected."""

    rows: pa.Table
    quarantine: list[QuarantinedRow] = field(default_factory=list)


class Connector(ABC):
    """A source. Subclasses declare `type_name`, `settings_model`, `table` and `default_lookback_days`."""

    type_name: ClassVar[str]
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    table: ClassVar[TableSpec]
    default_lookback_days: ClassVar[int] = 7

    def __init__(self, settings: ConnectorSettings) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def lookback_days(self) -> int:
        configured = self.settings.lookback_days
        return self.default_lookback_days if configured is None else configured

    @abstractmethod
    def list_accounts(self) -> list[Account]:
        """The accounts this configuration covers (configured, or discovered)."""

    @abstractmethod
    def extract(self, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """Rows of `account` for every day from `start` to `end` inclusive, in batches.

        Raises:
            RetryableAPIError: the API may succeed if asked again later.
            ConnectorError: it will not (credentials, permissions, bad request).
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and sessions."""

    def describe(self) -> dict[str, Any]:
        """What `mdp check` shows about this connector (never a secret)."""
        return {
            "name": self.name,
            "type": self.type_name,
            "table": self.table.name,
            "lookback_days": self.lookback_days,
            "accounts": list(self.settings.accounts) or "discovered at run time",
            "chunk_days": self.settings.chunk_days,
            "max_concurrency": self.settings.max_concurrency,
        }
