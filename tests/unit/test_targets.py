"""Pacing targets: pipeline.yaml's `pacing.targets` and the targets CSV, validated in one line each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mdp.config import config_from_mapping
from mdp.errors import ConfigError
from mdp.targets import load_targets, targets_for_month

CONNECTORS = [
    {"name": "google_ads", "type": "google_ads", "accounts": ["1234567890"]},
    {"name": "meta_ads", "type": "meta_ads", "accounts": ["act_111"]},
]


def _config(tmp_path: Path, pacing: dict[str, Any], csv: str | None = None) -> Any:
    source = tmp_path / "pipeline.yaml"
    source.write_text("{}", encoding="utf-8")
    if csv is not None:
        (tmp_path / "targets.csv").write_text(csv, encoding="utf-8")
        pacing = {**pacing, "targets_file": "targets.csv"}
    return config_from_mapping({"reporting_currency": "EUR", "connectors": CONNECTORS, "pacing": pacing}, source)


def _refused(tmp_path: Path, pacing: dict[str, Any], csv: str | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_targets(_config(tmp_path, pacing, csv))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_targets_from_the_configuration_and_the_csv_load_together(tmp_path: Path) -> None:
    csv = "month,channel,account_id,campaign_id,metric,value,currency\n2026-12,meta_ads,act_111,,conversions,40,\n"
    targets = load_targets(
        _config(
            tmp_path, {"targets": [{"channel": "google_ads", "metric": "spend", "value": 1000, "currency": "EUR"}]}, csv
        )
    )
    assert [(t.grain, t.metric, str(t.value)) for t in targets] == [
        ("channel", "spend", "1000"),
        ("account", "conversions", "40"),
    ]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"channel": "bing", "metric": "spend", "value": 1, "currency": "EUR"}, "channel: unknown channel 'bing'"),
        (
            {"channel": "google_ads", "account_id": "999", "metric": "conversions", "value": 1},
            "account_id: '999' is not an account of the google_ads connector(s) (1234567890)",
        ),
        (
            {"channel": "google_ads", "metric": "spend", "value": 1, "currency": "USD"},
            "currency: USD is not the reporting currency EUR",
        ),
        ({"channel": "google_ads", "metric": "spend", "value": 1}, "currency: a spend target needs its currency"),
        (
            {"channel": "google_ads", "metric": "roas", "value": 2, "currency": "EUR"},
            "currency: a roas target has no currency",
        ),
        (
            {"channel": "google_ads", "campaign_id": "42", "metric": "conversions", "value": 2},
            "campaign_id: give the campaign's account_id too",
        ),
    ],
)
def test_a_bad_target_is_named_in_one_line(tmp_path: Path, target: dict[str, Any], expected: str) -> None:
    message = _refused(tmp_path, {"targets": [target]})
    assert "pacing.targets[0]" in message
    assert expected in message


def test_a_bad_value_or_month_is_refused_when_the_configuration_loads(tmp_path: Path) -> None:
    for bad, key in (({"value": -5}, "value"), ({"month": "2026-13"}, "month"), ({"metric": "clicks"}, "metric")):
        target = {"channel": "google_ads", "metric": "conversions", "value": 3, **bad}
        with pytest.raises(ConfigError, match=rf"pacing\.targets\[0\]\.{key}"):
            _config(tmp_path, {"targets": [target]})


def test_two_targets_for_the_same_month_grain_and_metric_overlap(tmp_path: Path) -> None:
    csv = "channel,account_id,metric,value,currency\ngoogle_ads,123-456-7890,spend,500,EUR\n"
    target = {"channel": "google_ads", "account_id": "1234567890", "metric": "spend", "value": 9, "currency": "EUR"}
    message = _refused(tmp_path, {"targets": [target]}, csv)
    assert message.startswith("targets.csv line 2: a second target for spend of google_ads account 123-456-7890")
    assert "pacing.targets[0]" in message


@pytest.mark.parametrize(
    ("csv", "expected"),
    [
        ("channel,metric,value,owner\n", "targets.csv line 1: unknown column(s) owner"),
        ("channel,value\n", "targets.csv line 1: missing column(s) metric"),
        ("channel,metric,value\ngoogle_ads,conversions,ten\n", "targets.csv line 2: value: expected a number"),
        ("channel,metric,value\ngoogle_ads,conversions,1,extra\n", "targets.csv line 2: more fields than columns"),
        (
            "channel,metric,value,currency\ngoogle_ads,conversions,1,\nmeta_ads,spend,5,XYZ\n",
            "targets.csv line 3: currency: expected an ISO 4217 currency code",
        ),
    ],
)
def test_a_bad_csv_line_is_named(tmp_path: Path, csv: str, expected: str) -> None:
    assert expected in _refused(tmp_path, {}, csv)


def test_a_missing_targets_file_is_named(tmp_path: Path) -> None:
    message = _refused(tmp_path, {"targets_file": "nowhere.csv"})
    assert message.startswith("pacing.targets_file: ")
    assert "nowhere.csv does not exist" in message


def test_a_dated_target_replaces_the_every_month_one(tmp_path: Path) -> None:
    every = {"channel": "google_ads", "metric": "conversions", "value": 10}
    december = {**every, "month": "2026-12", "value": 30}
    other = {"channel": "meta_ads", "metric": "conversions", "value": 5}
    targets = load_targets(_config(tmp_path, {"targets": [every, december, other]}))
    assert sorted(str(t.value) for t in targets_for_month(targets, dt.date(2026, 12, 1))) == ["30", "5"]
    assert sorted(str(t.value) for t in targets_for_month(targets, dt.date(2027, 1, 1))) == ["10", "5"]
