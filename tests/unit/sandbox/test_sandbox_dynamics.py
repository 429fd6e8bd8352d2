"""Sandbox dynamics: a bounded trend, a promotion every month, budgets that move spend, a campaign that starts
mid-month and one that is paused, all as Truth and the snapshots report them."""

from __future__ import annotations

import calendar
import itertools
from datetime import date, timedelta
from statistics import mean

import pytest

from sandbox import dynamics, history
from sandbox.data import CAMPAIGN_STATUS, CHANNELS, GOOGLE, META, WEEKDAY_FACTORS, Channel, SyntheticData
from sandbox.google_streams import GoogleAccountDetails
from sandbox.meta_streams import adset_daily_budget, edge_items
from sandbox.truth import Truth, daterange

AS_OF = date(2025, 3, 20)


@pytest.fixture(scope="module")
def truth() -> Truth:
    return Truth(SyntheticData(seed=7), as_of=AS_OF)


def test_the_trend_stays_within_its_bounds_and_moves() -> None:
    low, high = dynamics.TREND_BOUNDS
    for seed in range(5):
        for channel in CHANNELS:
            for account in ("1", "22", "333"):
                levels = [
                    dynamics.trend(seed, channel, account, date(2020, 1, 1) + timedelta(days=d))
                    for d in range(0, 3000, 3)
                ]
                assert low <= min(levels)
                assert max(levels) <= high
                assert max(levels) - min(levels) > 0.15  # it drifts: amplitude 0.1-0.3
                # slowly: three days move it by less than 0.03 (0.3 x 2 pi / 200 x 3 at most)
                assert max(abs(a - b) for a, b in itertools.pairwise(levels)) < 0.03


def test_every_month_has_one_promotion_of_three_to_five_days(truth: Truth) -> None:
    for channel in CHANNELS:
        for account in truth.accounts(channel):
            for month in range(1, 25):
                year, m = 2024 + (month - 1) // 12, (month - 1) % 12 + 1
                promo = dynamics.promotion(truth.data.seed, channel, account.account_id, year, m)
                days = list(daterange(promo.first_day, promo.last_day))
                assert 3 <= len(days) <= 5
                assert promo.first_day.replace(day=1) == date(year, m, 1) == promo.last_day.replace(day=1)
                assert 1.3 <= promo.impressions_lift <= 1.7
                assert 1.1 <= promo.conversion_lift <= 1.3
                on = [dynamics.promotion_on(truth.data.seed, channel, account.account_id, d) for d in days]
                assert on == [promo] * len(days)
                off = date(year, m, 1) + timedelta(days=calendar.monthrange(year, m)[1])
                assert dynamics.promotion_on(truth.data.seed, channel, account.account_id, off) != promo


def _normalised(truth: Truth, channel: Channel, account_id: str, day: date) -> tuple[float, float, float]:
    """(impressions, clicks, conversions) of a day over its weekday factor and trend."""
    total = truth.day_totals(channel, account_id, day, as_of=date(2026, 1, 1), level="account")
    scale = WEEKDAY_FACTORS[day.weekday()] * dynamics.trend(truth.data.seed, channel, account_id, day)
    return total.impressions / scale, total.clicks / scale, float(total.conversions) / scale


def test_promotions_lift_impressions_and_the_conversion_rate(truth: Truth) -> None:
    account = truth.accounts(GOOGLE)[2].account_id
    promo, rest = [], []
    for day in daterange(date(2024, 1, 1), date(2024, 12, 31)):
        on = dynamics.promotion_on(truth.data.seed, GOOGLE, account, day) is not None
        (promo if on else rest).append(_normalised(truth, GOOGLE, account, day))
    lift = mean(p[0] for p in promo) / mean(r[0] for r in rest)
    assert 1.3 < lift < 1.8
    conversion_rate = sum(p[2] for p in promo) / sum(p[1] for p in promo)
    assert conversion_rate > 1.05 * sum(r[2] for r in rest) / sum(r[1] for r in rest)


def test_spend_follows_the_budget_factor_the_snapshots_report(truth: Truth) -> None:
    seed = truth.data.seed
    account = truth.accounts(GOOGLE)[2].account_id
    details = GoogleAccountDetails(seed, truth.data.structure(GOOGLE, account))
    campaign = details.structure.campaigns[0]
    by_factor: dict[float, list[float]] = {}
    budgets: dict[float, set[int]] = {}
    for day in daterange(date(2024, 1, 1), date(2024, 12, 31)):
        if dynamics.promotion_on(seed, GOOGLE, account, day) is not None:
            continue
        factor = history.budget_factor(seed, campaign.campaign_id, day)
        assert factor == dynamics.budget_factor(seed, GOOGLE, campaign.campaign_id, None, campaign.channel_type, day)
        budgets.setdefault(factor, set()).add(details.budget_micros(campaign, day))
        cost = sum(
            r.cost_micros
            for r in truth.records(GOOGLE, account, day, date(2026, 1, 1))
            if r.campaign_id == campaign.campaign_id
        )
        scale = WEEKDAY_FACTORS[day.weekday()] * dynamics.trend(seed, GOOGLE, account, day)
        by_factor.setdefault(factor, []).append(cost / scale)
    assert set(by_factor) == {1.0, 1.1, 1.2, 1.3}
    # the snapshot's daily budget is one amount per factor, in the factor's proportion
    assert all(len(amounts) == 1 for amounts in budgets.values())
    assert budgets[1.3].pop() / budgets[1.0].pop() == pytest.approx(1.3, rel=0.05)
    assert 1.15 < mean(by_factor[1.3]) / mean(by_factor[1.0]) < 1.45


def test_meta_delivery_follows_the_ad_set_budget(truth: Truth) -> None:
    seed = truth.data.seed
    structure = truth.data.structure(META, truth.accounts(META)[2].account_id)
    campaigns = structure.campaign_by_id
    group = next(g for g in structure.ad_groups if campaigns[g.campaign_id].channel_type != "OUTCOME_LEADS")
    campaign = campaigns[group.campaign_id]
    budgets: dict[float, set[int]] = {}
    for day in daterange(date(2024, 1, 1), date(2024, 12, 31)):
        factor = dynamics.budget_factor(seed, META, campaign.campaign_id, group.ad_group_id, campaign.channel_type, day)
        assert factor == history.budget_factor(seed, group.ad_group_id, day)
        budgets.setdefault(factor, set()).add(adset_daily_budget(seed, group.ad_group_id, day))
    # the ad set's daily budget snapshot moves with the factor that scales its ads' delivery
    assert all(len(amounts) == 1 for amounts in budgets.values())
    assert budgets[1.3].pop() / budgets[1.0].pop() == pytest.approx(1.3, rel=0.02)
    lead = next((c for c in structure.campaigns if c.channel_type == "OUTCOME_LEADS"), None)
    if lead is not None:
        assert dynamics.budget_factor(seed, META, lead.campaign_id, "1", lead.channel_type, AS_OF) == 1.0


def _campaign_days(truth: Truth, channel: Channel, account_id: str, campaign_id: str, start: date, end: date) -> set:
    return {
        d
        for d in daterange(start, end)
        if any(r.campaign_id == campaign_id for r in truth.records(channel, account_id, d, apply_faults=False))
    }


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_mid_month_campaign_delivers_from_its_start_only(truth: Truth, channel: Channel) -> None:
    account = truth.accounts(channel)[0].account_id
    campaigns = truth.data.structure(channel, account).campaigns
    last = campaigns[-1].campaign_id
    start = dynamics.campaign_start(truth.data, channel, account, last, AS_OF)
    assert start == date(2025, 3, 15)
    assert all(
        dynamics.campaign_start(truth.data, channel, account, c.campaign_id, AS_OF) is None for c in campaigns[:-1]
    )
    days = _campaign_days(truth, channel, account, last, date(2025, 2, 1), AS_OF)
    assert days
    assert min(days) >= start
    assert len(days) >= 4  # it delivers once started (an ad-day is off now and then)
    # on or before the 15th, the campaign started on the 15th of the month before
    assert dynamics.campaign_start(truth.data, channel, account, last, date(2025, 3, 15)) == date(2025, 2, 15)
    assert dynamics.campaign_start(truth.data, channel, account, last, date(2025, 1, 3)) == date(2024, 12, 15)


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_paused_campaign_stops_six_days_before_as_of(truth: Truth, channel: Channel) -> None:
    account = truth.accounts(channel)[1].account_id
    campaigns = truth.data.structure(channel, account).campaigns
    first = campaigns[0].campaign_id
    paused = dynamics.campaign_paused_from(truth.data, channel, account, first, AS_OF)
    assert paused == AS_OF - timedelta(days=6)
    assert all(
        dynamics.campaign_paused_from(truth.data, channel, account, c.campaign_id, AS_OF) is None for c in campaigns[1:]
    )
    days = _campaign_days(truth, channel, account, first, AS_OF - timedelta(days=20), AS_OF)
    assert days
    assert max(days) < paused
    assert truth.data.campaign_status(channel, account, first, AS_OF) == CAMPAIGN_STATUS[channel][1]
    # the other campaigns keep their status
    for c in campaigns[1:]:
        assert truth.data.campaign_status(channel, account, c.campaign_id, AS_OF) == c.status


def test_meta_snapshots_report_the_start_and_the_pause(truth: Truth) -> None:
    data = truth.data
    starting = data.structure(META, truth.accounts(META)[0].account_id)
    items = {i["id"]: i for i in edge_items(data, starting, "campaigns", AS_OF)}
    assert items[starting.campaigns[-1].campaign_id]["start_time"].startswith("2025-03-15T")
    pausing = data.structure(META, truth.accounts(META)[1].account_id)
    paused_id = pausing.campaigns[0].campaign_id
    campaign = {i["id"]: i for i in edge_items(data, pausing, "campaigns", AS_OF)}[paused_id]
    assert campaign["status"] == campaign["effective_status"] == "PAUSED"
    ads = [a for a in edge_items(data, pausing, "ads", AS_OF) if a["campaign_id"] == paused_id]
    assert ads
    assert {a["effective_status"] for a in ads} <= {"PAUSED", "CAMPAIGN_PAUSED"}
    adsets = [g for g in edge_items(data, pausing, "adsets", AS_OF) if g["campaign_id"] == paused_id]
    assert adsets
    assert {g["effective_status"] for g in adsets} <= {"PAUSED", "CAMPAIGN_PAUSED"}


def test_same_seed_and_as_of_give_the_same_dynamics() -> None:
    a, b = Truth(SyntheticData(seed=3), as_of=AS_OF), Truth(SyntheticData(seed=3), as_of=AS_OF)
    for channel in CHANNELS:
        for account in a.accounts(channel):
            for day in daterange(AS_OF - timedelta(days=10), AS_OF):
                assert a.records(channel, account.account_id, day) == b.records(channel, account.account_id, day)
