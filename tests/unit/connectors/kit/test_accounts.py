"""The account caches of the connector kit: configured or discovered accounts, one read per account, and
accounts refused for the rest of the run."""

from __future__ import annotations

import pytest

from connectors.base import Account
from connectors.kit.accounts import AccountCache, FatalAccounts


class Refused(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def test_configured_accounts_are_not_discovered_and_discovered_ones_are_remembered() -> None:
    cache = AccountCache()
    found = [Account("1", "One", "EUR", "Europe/Paris")]
    assert cache.listed([], lambda: found) == found
    assert cache.listed(["1", "2"], lambda: pytest.fail("discovered")) == [found[0], Account("2")]
    assert cache.get("1", lambda: pytest.fail("read again")) == found[0]


def test_an_account_is_read_once_unless_its_currency_or_time_zone_is_unknown() -> None:
    cache = AccountCache()
    reads: list[str] = []

    def read() -> Account:
        reads.append("2")
        return Account("2", "Two", "USD", "UTC")

    cache.listed([], lambda: [Account("2")])
    assert cache.get("2", read) == cache.get("2", read) == Account("2", "Two", "USD", "UTC")
    assert reads == ["2"]


def test_a_fatal_error_fails_the_accounts_later_units_and_others_do_not() -> None:
    fatal: FatalAccounts[Refused] = FatalAccounts(lambda e: e.code == 190, lambda e, m: Refused(m, e.code))
    fatal.remember("1", Refused("throttled", 4))
    fatal.raise_if_failed_before("1")
    fatal.remember("1", Refused("token expired", 190))
    fatal.remember("1", Refused("token gone", 190))
    assert "1" in fatal
    assert "2" not in fatal
    with pytest.raises(Refused, match=r"^token expired \(earlier in this run; not asked again\)$") as raised:
        fatal.raise_if_failed_before("1")
    assert raised.value.code == 190
    fatal.raise_if_failed_before("2")
