"""A deterministic in-test source for orchestration tests: its rows depend only on (account, day),
and its failures are switched on by configuration. The real connectors are tested on the sandbox."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pyarrow as pa
from pydantic import Field

from connectors.base import Account, Connector, ConnectorSettings, Extracted
from mdp.errors import ConnectorError, RetryableAPIError
from mdp.schema import TableSpec

_calls: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


class EchoSettings(ConnectorSettings):
    fail_accounts: list[str] = Field(default_factory=list)
    rate_limited_calls: int = 0
    mislabel: dict[str, str] = Field(default_factory=dict)  # account -> the account its rows wrongly name


class EchoConnector(Connector):
    type_name = "echo"
    settings_model = EchoSettings
    default_lookback_days = 5
    table = TableSpec(
        "raw_echo.daily",
        pa.schema(
            [
                pa.field("account_id", pa.string(), nullable=False),
                pa.field("day", pa.date32(), nullable=False),
                pa.field("item", pa.int64(), nullable=False),
                pa.field("cost", pa.float64()),
            ]
        ),
        account_column="account_id",
        date_column="day",
    )

    def list_accounts(self) -> list[Account]:
        return [Account(a) for a in self.settings.accounts]

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        assert isinstance(self.settings, EchoSettings)
        with _lock:
            key = (self.name, account)
            _calls[key] = _calls.get(key, 0) + 1
            call = _calls[key]
        if account in self.settings.fail_accounts:
            raise ConnectorError(f"account {account}: PERMISSION_DENIED (request id r-{call})")
        if call <= self.settings.rate_limited_calls:
            raise RetryableAPIError(f"account {account}: rate limited, call {call}", retry_after=0.1)
        day = start
        while day <= end:
            n = 1 + (day.toordinal() + len(account)) % 3
            yield Extracted(
                pa.table(
                    {
                        "account_id": [self.settings.mislabel.get(account, account)] * n,
                        "day": pa.array([day] * n, pa.date32()),
                        "item": list(range(n)),
                        "cost": [round(day.day * 1.5 + i, 2) for i in range(n)],
                    },
                    schema=self.table.schema,
                )
            )
            day += dt.timedelta(days=1)


def calls(connector: str, account: str) -> int:
    return _calls.get((connector, account), 0)


def reset() -> None:
    with _lock:
        _calls.clear()
