"""What a connector instance remembers about its accounts for a run, shared by its threads: the accounts it
was configured with, discovered or read once, and the accounts whose token or permission was refused."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from connectors.base import Account

E = TypeVar("E", bound=Exception)


class AccountCache:
    """Accounts by id: what discovery found, or what one read of an account returned."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, Account] = {}

    def listed(self, configured: Sequence[str], discover: Callable[[], list[Account]]) -> list[Account]:
        """The configured accounts (as far as they are known), or, when none are, the discovered ones."""
        if configured:
            with self._lock:
                return [self._known.get(a, Account(a)) for a in configured]
        found = discover()
        with self._lock:
            self._known.update({a.id: a for a in found})
        return found

    def get(self, account_id: str, read: Callable[[], Account]) -> Account:
        """The account's name, currency and time zone: `read()` once, unless discovery already told them."""
        with self._lock:
            known = self._known.get(account_id)
        if known is not None and known.currency and known.time_zone:
            return known
        info = read()
        with self._lock:
            self._known[account_id] = info
        return info


class FatalAccounts(Generic[E]):
    """A refused token or permission stays so for the run: the account's other units fail at once with the
    same error, and the API is not asked again.

    `is_fatal(error)` says which errors stay; `again(error, message)` builds the error raised for a later unit.
    """

    def __init__(self, is_fatal: Callable[[E], bool], again: Callable[[E, str], E]) -> None:
        self._is_fatal = is_fatal
        self._again = again
        self._lock = threading.Lock()
        self._failed: dict[str, E] = {}

    def __contains__(self, account_id: object) -> bool:
        with self._lock:
            return account_id in self._failed

    def raise_if_failed_before(self, account_id: str) -> None:
        with self._lock:
            earlier = self._failed.get(account_id)
        if earlier is not None:
            raise self._again(earlier, f"{earlier} (earlier in this run; not asked again)")

    def remember(self, account_id: str, error: E) -> None:
        if self._is_fatal(error):
            with self._lock:
                self._failed.setdefault(account_id, error)
