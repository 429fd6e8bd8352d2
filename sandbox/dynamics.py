"""How sandbox delivery moves over time, so that forecasts and pacing have something true to be tested against:
a slow per-account trend, a promotion a month, budget changes that move delivery, a campaign that starts mid-month
and one that is paused.

Every factor is a pure function of (seed, channel, entity, day); the two special campaigns also depend on the
sandbox's "as of" date (they start or stop relative to it). `SyntheticData.records` applies them, so
`Truth.records`, every server and the snapshots agree. Weekly and yearly seasonality stay in sandbox.data.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from sandbox import history
from sandbox.hashing import stable_hash

if TYPE_CHECKING:
    from sandbox.data import Channel, SyntheticData

# The trend: centre +- amplitude stays inside TREND_BOUNDS for any date.
TREND_BOUNDS = (0.7, 1.4)
_TREND_CENTRE = 1.05
_TREND_AMPLITUDE = (0.1, 0.3)
_TREND_PERIOD_DAYS = (200, 400)
# A promotion a month: 3 to 5 days, impressions x1.3-1.7, conversion rate x1.1-1.3.
PROMOTION_DAYS = (3, 5)
PROMOTION_IMPRESSIONS_LIFT = (1.3, 1.7)
PROMOTION_CONVERSION_LIFT = (1.1, 1.3)
# The campaign that starts mid-month: the last campaign of the account with this index, from this day of a month.
MID_MONTH_ACCOUNT_INDEX = 0
MID_MONTH_DAY = 15
# The paused campaign: the first campaign of the account with this index, paused this many days before "as of".
PAUSED_ACCOUNT_INDEX = 1
PAUSE_DAYS_BEFORE_AS_OF = 6
_META = "meta_ads"  # sandbox.data.META (not importable here: sandbox.data imports this module)


@dataclass(frozen=True)
class Promotion:
    """An account's promotion of one month: its days and how it lifts impressions and the conversion rate."""

    first_day: date
    last_day: date
    impressions_lift: float
    conversion_lift: float

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def _fraction(value: int, steps: int = 10_000) -> float:
    return (value % steps) / steps


def _between(bounds: tuple[float, float], fraction: float) -> float:
    return bounds[0] + (bounds[1] - bounds[0]) * fraction


@lru_cache(maxsize=16_384)
def _trend_shape(seed: int, channel: str, account_id: str) -> tuple[float, float, float]:
    """(period in days, amplitude, phase) of an account's trend."""
    period = _between(_TREND_PERIOD_DAYS, _fraction(stable_hash(seed, "trend-period", channel, account_id)))
    amplitude = _between(_TREND_AMPLITUDE, _fraction(stable_hash(seed, "trend-amplitude", channel, account_id)))
    return period, amplitude, _fraction(stable_hash(seed, "trend-phase", channel, account_id))


def trend(seed: int, channel: str, account_id: str, day: date) -> float:
    """The account's slow drift on `day`: a sinusoid of period 200-400 days, amplitude 0.1-0.3 around 1.05."""
    period, amplitude, phase = _trend_shape(seed, channel, account_id)
    return _TREND_CENTRE + amplitude * math.sin(2 * math.pi * ((day - history.EPOCH).days / period + phase))


@lru_cache(maxsize=16_384)
def promotion(seed: int, channel: str, account_id: str, year: int, month: int) -> Promotion:
    """The account's promotion of a month: 3 to 5 consecutive days inside the month, drawn from a hash."""
    h = stable_hash(seed, "promotion", channel, account_id, f"{year:04d}-{month:02d}")
    length = PROMOTION_DAYS[0] + h % (PROMOTION_DAYS[1] - PROMOTION_DAYS[0] + 1)
    last_start = calendar.monthrange(year, month)[1] - length + 1
    first = date(year, month, 1 + (h // 7) % last_start)
    return Promotion(
        first,
        first + timedelta(days=length - 1),
        _between(PROMOTION_IMPRESSIONS_LIFT, _fraction(h // 1_000)),
        _between(PROMOTION_CONVERSION_LIFT, _fraction(h // 10_000_000)),
    )


def promotion_on(seed: int, channel: str, account_id: str, day: date) -> Promotion | None:
    found = promotion(seed, channel, account_id, day.year, day.month)
    return found if found.covers(day) else None


def account_lift(seed: int, channel: str, account_id: str, day: date) -> tuple[float, float]:
    """(impressions multiplier, conversion-rate multiplier) of an account on `day`: trend x promotion."""
    found = promotion_on(seed, channel, account_id, day)
    level = trend(seed, channel, account_id, day)
    if found is None:
        return level, 1.0
    return level * found.impressions_lift, found.conversion_lift


def uses_campaign_budget(channel: str, objective: str) -> bool:
    """Meta lead campaigns run on a campaign (lifetime) budget, the others on ad set daily budgets."""
    return channel == _META and objective == "OUTCOME_LEADS"


def budget_factor(
    seed: int, channel: str, campaign_id: str, ad_group_id: str | None, objective: str, day: date
) -> float:
    """The budget factor (sandbox.history) of the entity whose budget the channel's snapshots report on `day`:
    Meta's ad set (a lead campaign's lifetime budget never changes: 1.0), every other channel's campaign."""
    if channel == _META:
        if uses_campaign_budget(channel, objective) or ad_group_id is None:
            return 1.0
        return history.budget_factor(seed, ad_group_id, day)
    return history.budget_factor(seed, campaign_id, day)


def mid_month_start(as_of: date) -> date:
    """The 15th of the "as of" month, or of the month before when "as of" is on or before the 15th."""
    month_start = as_of.replace(day=1)
    if as_of.day <= MID_MONTH_DAY:
        month_start = (month_start - timedelta(days=1)).replace(day=1)
    return month_start.replace(day=MID_MONTH_DAY)


def pause_day(as_of: date) -> date:
    return as_of - timedelta(days=PAUSE_DAYS_BEFORE_AS_OF)


def _campaign_at(data: SyntheticData, channel: Channel, account_id: str, index: int, position: int) -> str | None:
    """The id of the campaign at `position` of the account when the account has index `index`."""
    account = data.account(channel, account_id)
    if account is None or account.index != index:
        return None
    return data.structure(channel, account.account_id).campaigns[position].campaign_id


def campaign_start(
    data: SyntheticData, channel: Channel, account_id: str, campaign_id: str, as_of: date
) -> date | None:
    """The first day the campaign delivers when it is the mid-month campaign (the last campaign of the account with
    index 0), else None (it has delivered since before any history)."""
    if not data.dynamics:
        return None
    if _campaign_at(data, channel, account_id, MID_MONTH_ACCOUNT_INDEX, -1) != campaign_id:
        return None
    return mid_month_start(as_of)


def campaign_paused_from(
    data: SyntheticData, channel: Channel, account_id: str, campaign_id: str, as_of: date
) -> date | None:
    """The day the campaign was paused when it is the paused campaign (the first campaign of the account with
    index 1): "as of" minus 6 days; else None."""
    if not data.dynamics:
        return None
    if _campaign_at(data, channel, account_id, PAUSED_ACCOUNT_INDEX, 0) != campaign_id:
        return None
    return pause_day(as_of)


def delivers(data: SyntheticData, channel: Channel, account_id: str, campaign_id: str, day: date, as_of: date) -> bool:
    """Whether the campaign runs on `day` (started, not paused) as the sandbox reports it on `as_of`."""
    start = campaign_start(data, channel, account_id, campaign_id, as_of)
    paused = campaign_paused_from(data, channel, account_id, campaign_id, as_of)
    return (start is None or day >= start) and (paused is None or day < paused)
