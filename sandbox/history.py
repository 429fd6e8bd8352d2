"""How sandbox entities change over time: renames, pauses and budget changes on deterministic days.

Every entity moves through numbered versions; a version lasts a period of 17 to 45 days (drawn from the
entity's id), so a 60-day history shows a few changes per account. The state on a day depends only on
(seed, entity, day): the reports (which name entities as they are on the sandbox's "as of" date, like the
real APIs) and the snapshots agree, and an ad paused on a day has no metrics that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sandbox.hashing import stable_hash

EPOCH = date(2020, 1, 6)
_RENAMES = ("", " - refresh", " - Q4 test")


@dataclass(frozen=True)
class EntityState:
    """An entity on one day: its version, name, whether it is paused, and its budget factor."""

    version: int
    name: str
    paused: bool
    budget_factor: float


def version(seed: int, entity_id: str, day: date) -> int:
    """The entity's version number on `day` (counts the changes since EPOCH)."""
    period = 17 + stable_hash(seed, "history-period", entity_id) % 29
    offset = stable_hash(seed, "history-offset", entity_id) % period
    return ((day - EPOCH).days + offset) // period


def budget_factor(seed: int, entity_id: str, day: date) -> float:
    """The entity's budget on `day` relative to its base: +10% per version, cycling over four steps (1.0 to 1.3)."""
    return _budget_step(version(seed, entity_id, day))


def _budget_step(v: int) -> float:
    return 1.0 + 0.1 * (v % 4)


def state(seed: int, entity_id: str, base_name: str, day: date, *, can_pause: bool = True) -> EntityState:
    """The entity on `day`: renamed every third version, paused in one version of five for about a
    quarter of the pausable entities, budget stepping by 10% per version (cycling over four steps)."""
    v = version(seed, entity_id, day)
    name = base_name + _RENAMES[(v // 3) % len(_RENAMES)]
    pausable = can_pause and stable_hash(seed, "history-pausable", entity_id) % 4 == 0
    paused = pausable and v % 5 == 4
    return EntityState(v, name, paused, _budget_step(v))
