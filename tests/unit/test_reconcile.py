"""The reconciliation's own logic: how differences are named, summarised and turned into units to extract again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from flows.reconcile import Mismatch, Quarantined, ReconcileResult, day_ranges, reextract_units
from mdp.config import config_from_mapping, load_config
from mdp.errors import ConfigError

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def config() -> object:
    return config_from_mapping(
        {
            "connectors": [
                {"name": "g", "type": "google_ads", "accounts": ["1234567890"], "login_customer_id": "1112223333"},
                {"name": "m", "type": "meta_ads", "accounts": ["act_1"]},
            ]
        }
    )


def test_a_mismatch_names_channel_account_day_metric_and_both_values() -> None:
    spend = Mismatch("g", "google_ads", "1234567890", D1, "spend", Decimal("1234.500000"), Decimal("1000"), "JPY")
    assert spend.describe() == (
        "g account 1234567890 2026-03-01 spend: platform 1234.5 JPY, landed 1000 JPY (difference -234.5 JPY)"
    )
    clicks = Mismatch("m", "meta_ads", "1", D2, "clicks", None, Decimal("7"), "EUR")
    assert clicks.describe() == "m account 1 2026-03-02 clicks: platform none, landed 7 (difference +7)"


def test_the_summary_says_what_reconciled_and_what_did_not() -> None:
    assert ReconcileResult(checked=63).summary() == (
        "63 account-day(s) reconciled with the platforms' own totals; all within tolerance"
    )
    assert ReconcileResult(compared=False).summary() == (
        "not compared with the platforms' totals (the run built no marts)"
    )
    found = ReconcileResult(
        checked=10,
        unchecked={"echo": 4},
        mismatches=[
            Mismatch("g", "google_ads", "1", D1, "spend", Decimal(5), Decimal(3), "EUR"),
            Mismatch("g", "google_ads", "1", D1, "clicks", Decimal(5), Decimal(3), "EUR"),
        ],
        quarantined=[Quarantined("m", "ad_insights", "raw_meta_ads.ad_insights", "1", D2, 3)],
        money_missing={"g EUR": Decimal(2)},
    )
    assert not found.ok
    assert found.summary() == (
        "10 account-day(s) reconciled with the platforms' own totals; 1 not within tolerance (2 metric(s)); "
        "3 row(s) quarantined in 1 unit(s); spend not landed: 2 g EUR; echo: 4 account-day(s) without platform totals"
    )
    assert found.failed_days() == {("g", "1"): {D1}, ("m", "1"): {D2}}


def test_a_long_list_of_failures_is_cut_and_counted() -> None:
    many = [Mismatch("g", "google_ads", "1", D1, f"m{i}", Decimal(1), Decimal(0), None) for i in range(25)]
    lines = ReconcileResult(mismatches=many).failure_lines()
    assert len(lines) == 21
    assert lines[-1] == "... and 5 more (marts.reconciliation_daily)"


def test_days_become_ranges() -> None:
    assert day_ranges([D3, D1, D1]) == [(D1, D1), (D3, D3)]
    assert day_ranges([D2, D1, D3]) == [(D1, D3)]
    assert day_ranges([]) == []


def test_what_is_extracted_again() -> None:
    result = ReconcileResult(
        mismatches=[
            Mismatch("g", "google_ads", "1234567890", D1, "spend", Decimal(5), Decimal(3), "EUR"),
            Mismatch("g", "google_ads", "1234567890", D2, "clicks", Decimal(5), Decimal(3), "EUR"),
        ],
        quarantined=[Quarantined("m", "country_insights", "raw_meta_ads.country_insights", "1", D3, 1)],
    )
    units = reextract_units(config(), result)  # type: ignore[arg-type]
    assert units == {
        "g": [
            {"stream": "account_totals", "account": "1234567890", "start": "2026-03-01", "end": "2026-03-02"},
            {"stream": "ad_performance", "account": "1234567890", "start": "2026-03-01", "end": "2026-03-02"},
        ],
        "m": [{"stream": "country_insights", "account": "1", "start": "2026-03-03", "end": "2026-03-03"}],
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{spend: -1}", r"reconciliation\.spend: expected a number >= 0, got -1"),
        ("{clicks: true}", r"reconciliation\.clicks"),
        ("{tolerance: 1}", r"reconciliation\.tolerance: unknown key"),
    ],
)
def test_bad_tolerances_name_the_key(tmp_path: Path, section: str, message: str) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text(f"reconciliation: {section}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)
