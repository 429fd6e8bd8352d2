"""Volume checks on raw tables the real connectors loaded from the sandbox: a clean 60-day run is quiet,
injected row drops and spend spikes are caught on the right account and day, a new account is only
insufficient_history, failed loads are flagged, and reruns replace their rows in ops.volume_checks."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from connectors.registry import connector_class
from flows.monitor import VOLUME_CHECKS, monitoring_settings, run_checks, write_checks
from flows.volume import Check, counts
from sandbox.faults import Fault
from tests.integration.monitoring.conftest import END, START, Site
from warehouse import from_config
from warehouse.base import LoadContext, Scope

# Prefect API clients of earlier tests leave loopback sockets to the garbage collector.
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def checks_of(site: Site, start: dt.date = START, end: dt.date = END) -> list[Check]:
    config = site.config
    checks, skipped = run_checks(config, from_config(config), site.windows(start, end), monitoring_settings(config))
    assert skipped == {}
    return checks


def flagged(checks: list[Check], status: str = "anomaly") -> set[tuple[str, str, dt.date, str]]:
    return {(c.connector, c.account_id, c.day, c.metric) for c in checks if c.status == status}


def test_the_clean_sandbox_has_no_anomaly_over_60_days(site: Site) -> None:
    checks = checks_of(site)
    accounts = {(c.connector, c.account_id) for c in checks}
    assert len(accounts) == 6
    assert len(checks) == 6 * 60 * 2  # rows and spend per account and day
    tally = counts(checks)
    assert tally["anomaly"] == 0, [c for c in checks if c.status == "anomaly"]
    assert tally["insufficient_history"] == 0
    assert tally["ok"] >= 0.97 * len(checks)  # weekday seasonality is absorbed by the same-weekday baseline


def test_row_drop_and_spend_spike_are_flagged_on_their_account_and_day(site: Site) -> None:
    google = site.google.account_ids
    meta = site.meta.account_ids
    meta_id = meta[1].removeprefix("act_")
    drop_google, drop_meta, spike = dt.date(2025, 3, 5), dt.date(2025, 3, 12), dt.date(2025, 3, 14)
    site.google.faults.add(Fault("row_drop", account=google[2], day=drop_google, params={"keep_fraction": 0.1}))
    site.meta.faults.add(Fault("row_drop", account=meta[1], day=drop_meta, params={"keep_fraction": 0.1}))
    site.google.faults.add(Fault("spend_spike", account=google[0], day=spike, params={"factor": 10}))
    site.load(dt.date(2025, 3, 1), END)  # the connectors re-read the last days, faults included

    checks = checks_of(site, dt.date(2025, 3, 1), END)
    assert flagged(checks) == {
        ("google_ads", google[2], drop_google, "rows"),
        ("google_ads", google[2], drop_google, "spend"),
        ("meta_ads", meta_id, drop_meta, "rows"),
        ("meta_ads", meta_id, drop_meta, "spend"),
        ("google_ads", google[0], spike, "spend"),
    }
    by_key = {(c.account_id, c.day, c.metric): c for c in checks}
    assert by_key[(google[2], drop_google, "rows")].change is not None
    assert by_key[(google[2], drop_google, "rows")].change < -0.75  # type: ignore[operator]
    assert by_key[(google[0], spike, "spend")].change > 5  # type: ignore[operator]
    assert by_key[(google[0], spike, "rows")].status == "ok"


def test_a_new_account_is_insufficient_history_not_an_anomaly(site: Site) -> None:
    account = site.meta.account_ids[0].removeprefix("act_")
    started = END - dt.timedelta(days=9)
    config = site.config
    spec = connector_class("meta_ads").table
    # Forget the account's past: as if it had been added to the configuration ten days ago.
    from_config(config).replace_partitions(
        spec,
        [],
        Scope.of([account], START - dt.timedelta(weeks=8), started - dt.timedelta(days=1)),
        LoadContext("meta_ads", "forget"),
    )
    checks = [c for c in checks_of(site, started, END) if c.account_id == account]
    assert len(checks) == 10 * 2
    assert {c.status for c in checks} == {"insufficient_history"}
    others = [c for c in checks_of(site, started, END) if c.account_id != account]
    assert "insufficient_history" not in {c.status for c in others}


def test_zero_rows_and_failed_loads_are_flagged(site: Site) -> None:
    google = site.google.account_ids
    config = site.config
    warehouse = from_config(config)
    spec = connector_class("google_ads").table
    silent, broken = dt.date(2025, 3, 17), dt.date(2025, 3, 18)
    warehouse.replace_partitions(spec, [], Scope.of([google[1]], silent, silent), LoadContext("google_ads", "r2"))
    warehouse.log_failure(spec, Scope.of([google[2]], broken, broken), LoadContext("google_ads", "r2"), "HTTP 503")

    checks = checks_of(site, silent, END)
    zero = [c for c in checks if c.account_id == google[1] and c.day == silent]
    assert {c.status for c in zero} == {"anomaly"}
    assert {c.reason for c in zero} == {"zero rows on a day with spend history"}
    failed = [c for c in checks if c.account_id == google[2] and c.day == broken]
    assert [(c.metric, c.status, c.reason) for c in failed] == [("load", "anomaly", "HTTP 503")]
    # A later successful load of the unit clears the flag.
    site.load(broken, broken, [google[2]])
    assert not [c for c in checks_of(site, broken, broken) if c.status == "anomaly"]


def test_a_rerun_replaces_its_checks(site: Site) -> None:
    config = site.config
    warehouse = from_config(config)
    window_start = END - dt.timedelta(days=6)
    first = checks_of(site, window_start, END)
    assert write_checks(warehouse, first, "run-1") == len(first) == 6 * 7 * 2
    assert write_checks(warehouse, checks_of(site, window_start, END), "run-2") == len(first)
    with duckdb.connect(str(site.warehouse_path), read_only=True) as con:
        rows = con.execute(
            f"SELECT run_id, count(*), count(DISTINCT (connector, account_id, day, metric)) FROM {VOLUME_CHECKS.name} "
            "GROUP BY run_id"
        ).fetchall()
    assert rows == [("run-2", len(first), len(first))]
