"""Synthetic data: determinism, structure, plausibility and the late-conversion curve."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.data import (
    ATTRIBUTION_WINDOW_DAYS,
    CHANNELS,
    GOOGLE,
    LINKEDIN,
    MAX_ACCOUNTS,
    META,
    MICROSOFT,
    TIKTOK,
    Channel,
    SyntheticData,
    late_share,
    money_text,
    money_unit_micros,
)
from sandbox.truth import Truth

DAY = date(2025, 3, 3)
AS_OF = date(2025, 5, 1)


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return SyntheticData(seed=7, google_accounts=3, meta_accounts=3)


def test_same_seed_same_records() -> None:
    a, b = SyntheticData(seed=1), SyntheticData(seed=1)
    for channel in CHANNELS:
        for account in a.accounts(channel):
            assert a.records(channel, account.account_id, DAY, AS_OF) == b.records(
                channel, account.account_id, DAY, AS_OF
            )


def test_other_seed_other_records() -> None:
    a, b = SyntheticData(seed=1), SyntheticData(seed=2)
    assert [x.account_id for x in a.accounts(GOOGLE)] != [x.account_id for x in b.accounts(GOOGLE)]


def test_ids_are_stable_when_accounts_are_added() -> None:
    small, large = SyntheticData(seed=3, google_accounts=2), SyntheticData(seed=3, google_accounts=300)
    assert [a.account_id for a in large.accounts(GOOGLE)][:2] == [a.account_id for a in small.accounts(GOOGLE)]
    first = small.accounts(GOOGLE)[0].account_id
    assert small.structure(GOOGLE, first).ads == large.structure(GOOGLE, first).ads
    assert len({a.account_id for a in large.accounts(GOOGLE)}) == 300


def test_accounts_mix_currencies_and_time_zones(data: SyntheticData) -> None:
    for channel in CHANNELS:
        accounts = data.accounts(channel)
        assert len(accounts) == 3
        # LinkedIn reports every account's days in UTC
        assert len({a.time_zone for a in accounts}) == (1 if channel == LINKEDIN else 3)
    currencies = {a.currency for ch in CHANNELS for a in data.accounts(ch)}
    assert {"EUR", "USD", "GBP"} <= currencies
    assert all(len(a.account_id) == 10 for a in data.accounts(GOOGLE))
    assert all(a.graph_id.startswith("act_") for a in data.accounts(META))


def test_account_count_bounds() -> None:
    with pytest.raises(ValueError, match="google_accounts"):
        SyntheticData(google_accounts=-1)
    with pytest.raises(ValueError, match="meta_accounts must be between 0 and 10000"):
        SyntheticData(meta_accounts=MAX_ACCOUNTS + 1)


def test_ten_thousand_accounts_per_channel_keep_the_first_ones_and_are_unique() -> None:
    """The scale benchmark's size: the accounts are built at once (cheap), structures and days per request."""
    small = SyntheticData(seed=42)
    large = SyntheticData(
        seed=42,
        google_accounts=MAX_ACCOUNTS,
        meta_accounts=MAX_ACCOUNTS,
        microsoft_accounts=MAX_ACCOUNTS,
        tiktok_accounts=MAX_ACCOUNTS,
        linkedin_accounts=MAX_ACCOUNTS,
    )
    for channel in CHANNELS:
        accounts = large.accounts(channel)
        assert len({a.account_id for a in accounts}) == MAX_ACCOUNTS
        assert accounts[:3] == small.accounts(channel)
        last = accounts[-1]
        assert large.account(channel, last.account_id) == last
        assert large.records(channel, last.account_id, DAY, AS_OF)


def test_google_performance_max_has_spend_but_no_ads(data: SyntheticData) -> None:
    account = data.accounts(GOOGLE)[2].account_id  # the first account's (last) PMAX campaign starts mid-month
    structure = data.structure(GOOGLE, account)
    pmax = [c for c in structure.campaigns if c.channel_type == "PERFORMANCE_MAX"]
    assert len(pmax) == 1
    assert not [a for a in structure.ads if a.campaign_id == pmax[0].campaign_id]
    records = data.records(GOOGLE, account, DAY, AS_OF)
    pmax_records = [r for r in records if r.campaign_id == pmax[0].campaign_id]
    assert pmax_records
    assert pmax_records[0].ad_id is None
    assert pmax_records[0].cost_micros > 0


def test_metrics_are_plausible(data: SyntheticData) -> None:
    for channel in CHANNELS:
        for account in data.accounts(channel):
            for offset in range(14):
                for r in data.records(channel, account.account_id, DAY + timedelta(offset), AS_OF):
                    assert r.impressions > 0
                    assert 0 <= r.clicks <= r.impressions
                    assert r.cost_micros >= 0
                    assert r.cost_micros % 10_000 == 0  # whole cents
                    if channel == META:
                        assert r.reach <= r.impressions


def test_meta_has_several_action_types(data: SyntheticData) -> None:
    types: set[str] = set()
    for account in data.accounts(META):
        for offset in range(7):
            for r in data.records(META, account.account_id, DAY + timedelta(offset), AS_OF):
                types |= {t for t, _ in r.actions}
    assert {"link_click", "purchase", "offsite_conversion.fb_pixel_purchase", "landing_page_view"} <= types


def test_weekends_are_quieter(data: SyntheticData) -> None:
    truth = Truth(data)
    account = data.accounts(GOOGLE)[0].account_id
    weekday, weekend = [], []
    for offset in range(56):
        day = date(2025, 1, 6) + timedelta(offset)
        impressions = truth.day_totals(GOOGLE, account, day, as_of=AS_OF, level="account").impressions
        (weekend if day.weekday() >= 5 else weekday).append(impressions)
    assert sum(weekend) / len(weekend) < sum(weekday) / len(weekday)


def test_no_data_after_as_of(data: SyntheticData) -> None:
    account = data.accounts(META)[0].account_id
    assert data.records(META, account, AS_OF + timedelta(1), AS_OF) == []
    assert data.records(META, account, AS_OF, AS_OF)


def test_late_share_curve() -> None:
    for channel in CHANNELS:
        window = ATTRIBUTION_WINDOW_DAYS[channel]
        shares = [late_share(channel, DAY, DAY + timedelta(lag)) for lag in range(-1, window + 5)]
        assert shares[0] == 0.0
        assert shares == sorted(shares)
        assert 0 < shares[1] < 1
        assert set(shares[window + 1 :]) == {1.0}


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), day_offset=st.integers(0, 400), channel=st.sampled_from(CHANNELS))
def test_conversions_grow_with_as_of_then_freeze(seed: int, day_offset: int, channel: str) -> None:
    data = SyntheticData(seed=seed)
    truth = Truth(data)
    # the third account: the first two carry the campaigns sandbox.dynamics starts and pauses relative to "as of",
    # whose past days change with it by design
    account = data.accounts(channel)[2].account_id  # type: ignore[arg-type]
    day = date(2024, 1, 1) + timedelta(day_offset)
    window = ATTRIBUTION_WINDOW_DAYS[channel]
    series = [
        truth.day_totals(channel, account, day, as_of=day + timedelta(lag), level="account")  # type: ignore[arg-type]
        for lag in range(window + 4)
    ]
    conversions = [t.conversions for t in series]
    values = [t.conversion_value for t in series]
    assert conversions == sorted(conversions)
    assert values == sorted(values)
    assert len({(t.conversions, t.conversion_value) for t in series[window:]}) == 1
    # spend and clicks do not restate
    assert len({(t.cost, t.clicks, t.impressions) for t in series}) == 1


def test_appended_locales_leave_the_default_accounts_currencies_alone() -> None:
    data = SyntheticData(seed=42)
    assert {ch: [a.currency for a in data.accounts(ch)] for ch in CHANNELS} == {
        GOOGLE: ["EUR", "USD", "GBP"],
        META: ["USD", "GBP", "EUR"],
        MICROSOFT: ["GBP", "EUR", "USD"],
        TIKTOK: ["EUR", "USD", "SEK"],
        LINKEDIN: ["EUR", "USD", "SEK"],
    }


@pytest.mark.parametrize(("channel", "count"), [(GOOGLE, 10), (META, 9), (MICROSOFT, 8)])
def test_zero_and_three_decimal_accounts_have_their_currencys_precision(channel: Channel, count: int) -> None:
    data = SyntheticData(seed=5, google_accounts=count, meta_accounts=count, microsoft_accounts=count)
    by_currency = {a.currency: a for a in data.accounts(channel)}
    for currency, unit in (("JPY", 1_000_000), ("KWD", 1_000), ("EUR", 10_000)):
        assert money_unit_micros(currency) == unit
        account = by_currency[currency].account_id
        records = [r for d in range(14) for r in data.records(channel, account, DAY + timedelta(days=d), AS_OF)]
        money = [r.cost_micros for r in records] + [r.conversions_value_micros for r in records]
        money += [m for r in records for _, m in r.action_value_micros]
        assert records
        assert all(m % unit == 0 for m in money)
        if currency == "JPY":
            assert max(r.cost_micros for r in records) >= 1_000 * unit, "yen amounts run into thousands"
        if currency == "KWD":
            assert any(m % 10_000 for m in money), "some amounts use the third decimal"


def test_money_text_writes_the_currencys_places() -> None:
    assert money_text(12_345_000_000, "JPY") == "12345"
    assert money_text(12_345_000_000, "JPY", grouped=True) == "12,345"
    assert money_text(1_234_567_000, "KWD", grouped=True) == "1,234.567"
    assert money_text(1_234_560_000, "EUR") == "1234.56"
