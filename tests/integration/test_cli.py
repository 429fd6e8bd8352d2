"""The `mdp` command line on real files: check, and the demo (sandbox -> Prefect -> DuckDB -> dbt)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from mdp.cli import app
from mdp.paths import PROJECT_ROOT

runner = CliRunner()


@pytest.fixture
def dead_prefect_api() -> Iterator[None]:
    """No Prefect API answers: a run that got as far as starting a flow would fail on it. A Prefect setting
    for the test only: an environment variable would stay in Prefect's settings if Prefect were first
    imported during the test, and later tests would talk to the dead API."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        yield


def write_config(tmp_path: Path) -> Path:
    """The project's sample configuration with the warehouse in tmp_path."""
    data = yaml.safe_load((PROJECT_ROOT / "pipeline.yaml").read_text())
    data["warehouse"]["path"] = str(tmp_path / "wh" / "demo.duckdb")
    shutil.copy(PROJECT_ROOT / "targets.csv", tmp_path / "targets.csv")  # pacing.targets_file, beside it
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_check_prints_what_a_run_would_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert str(tmp_path / "wh" / "demo.duckdb") in result.output
    assert "google_ads (google_ads)\n    streams: ad_performance -> raw_google_ads.ad_performance, " in result.output
    assert "campaign_snapshot -> raw_meta_ads.campaign_snapshot" in result.output
    assert "credentials: access_token=env:META_ACCESS_TOKEN" in result.output
    assert "channels in the marts: google_ads, meta_ads" in result.output


def test_dbt_vars_prints_the_vars_a_run_passes(tmp_path: Path) -> None:
    from flows.transform import project_vars
    from mdp.config import load_config

    path = write_config(tmp_path)
    result = runner.invoke(app, ["dbt-vars", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == project_vars(load_config(path))
    assert "report_channels" not in json.loads(result.stdout)  # the channels are models, not vars


def test_dbt_deps_links_no_package_when_every_channel_lives_in_the_project() -> None:
    result = runner.invoke(app, ["dbt-deps"])
    assert result.exit_code == 0, result.output
    assert "plug-in dbt packages linked: none" in result.output


def test_check_rejects_a_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Nowhere/Land\n")
    result = runner.invoke(app, ["check", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"invalid configuration in {bad}" in result.output
    assert "timezone: expected an IANA time zone" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--start", "2026-01-10", "--end", "2026-01-05"], "--end 2026-01-05 is before --start 2026-01-10"),
        (["--end", "2026-01-05"], "--start is required when --end is given"),
        (
            ["--connector", "bing"],
            "--connector: unknown ['bing']; known: "
            "['google_ads', 'linkedin_ads', 'meta_ads', 'microsoft_ads', 'tiktok_ads']",
        ),
        (["--account", "123"], "--account: unknown ['123']"),
        (["--lookback-days", "999"], "--lookback-days: expected a whole number from 0 to 400, got 999"),
        (["--run-date", "2999-01-01"], "--run-date 2999-01-01 is in the future"),
        (["--start", "1990-01-01", "--end", "2020-01-02"], "is 10,959 days, more than 1,130 (37 months"),
        (["--resume", "no-such-run"], "warehouse file not found"),
        (["--retry-failed", "--resume", "r1"], "--resume and --retry-failed exclude each other: give one"),
        (
            ["--start", "2019-12-30", "--end", "2020-01-02"],
            "no FX rate in fx_rates_daily.csv for 2019-12-30..2019-12-31 (AUD, CAD, CHF, DKK, EUR, GBP, JPY, KWD, "
            "PLN, SEK, USD); the seed covers 2020-01-01..2027-12-31",
        ),
    ],
)
@pytest.mark.usefixtures("dead_prefect_api")
def test_run_rejects_bad_parameters_by_flag_before_any_flow_starts(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["run", "--config", str(write_config(tmp_path)), *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("dead_prefect_api")
def test_run_names_a_bad_account_by_its_key_path_and_a_bad_flag_by_the_flag(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["connectors"][0]["accounts"][0] = "１２３４５６７８９０"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    result = runner.invoke(app, ["run", "--config", str(bad), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert "connectors[0].accounts[0]: '１２３４５６７８９０' is not a 10-digit Google Ads customer id" in result.output
    assert "--connector" not in result.output
    assert "--account" not in result.output
    flag = runner.invoke(app, ["run", "--config", str(path), "--dry-run", "--account", "²³"])
    assert flag.exit_code == 2, flag.output
    assert flag.output.startswith("error: --account: '²³' is not an account id"), flag.output
    assert "Traceback" not in flag.output


@pytest.mark.usefixtures("dead_prefect_api")
def test_run_refuses_today_which_is_not_over(tmp_path: Path) -> None:
    from mdp.config import load_config

    config = write_config(tmp_path)
    today = dt.datetime.now(load_config(config).tz).date()
    result = runner.invoke(app, ["run", "--config", str(config), "--start", str(today), "--end", str(today)])
    assert result.exit_code == 2, result.output
    assert f"--end {today} is today, which is not over yet in the pipeline time zone" in result.output


def test_accounts_match_whatever_their_spelling(tmp_path: Path) -> None:
    from connectors.registry import build_connectors
    from flows.daily import accounts_of
    from mdp.config import load_config

    connectors = build_connectors(load_config(write_config(tmp_path)))
    asked = ["act_844772136928080", "844772136928080", "987-428-5372"]
    assert accounts_of(connectors, asked) == ["844772136928080", "844772136928080", "9874285372"]


def test_run_without_dbt_needs_no_fx_rate(tmp_path: Path) -> None:
    from flows.daily import plan
    from flows.windows import run_parameters
    from mdp.config import load_config

    config = load_config(write_config(tmp_path))
    params = run_parameters(start_date="2019-12-30", end_date="2020-01-02", run_dbt=False)
    windows = plan(config, params, dt.date(2026, 11, 27))
    assert {str(s) for s, _ in windows.values()} == {"2019-12-30"}


def test_check_refuses_a_reporting_currency_without_fx_rates_and_survives_markup(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["reporting_currency"] = "BRL"
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 2
    assert "reporting_currency: BRL has no rates in fx_rates_daily.csv (it has AUD, CAD" in result.output

    data["reporting_currency"] = "EUR"
    data["connectors"][1]["accounts"] = ["act_[/x]"]
    path.write_text(yaml.safe_dump(data))
    result = runner.invoke(app, ["check", "--config", str(path)])
    assert "[/x]" in result.output
    assert "MarkupError" not in result.output


def digest(path: Path) -> dict[str, str]:
    """A hash of every raw table and mart, without the load metadata columns."""
    tables = {
        "raw_google_ads.ad_performance": "* EXCLUDE (_run_id, _extracted_at, _loaded_at)",
        "raw_meta_ads.ad_insights": "* EXCLUDE (_run_id, _extracted_at, _loaded_at)",
        "marts.fct_ad_performance_daily": "*",
        "marts.mart_global_performance_daily": "*",
    }
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        for table, columns in tables.items():
            rows = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
            assert rows, table
            # DuckDB sums doubles in parallel, in no fixed order: the marts may differ in the last bits.
            rounded = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]
            out[table] = hashlib.sha256(repr(rounded).encode()).hexdigest()
    return out


@pytest.mark.slow
def test_demo_twice_is_safe_and_leaves_the_same_data(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    digests, outputs = [], []
    for _ in range(2):
        result = runner.invoke(app, ["demo", "--config", str(config), "--days", "7"])
        assert result.exit_code == 0, result.output
        assert "all channels" in result.output
        assert "report:" in result.output
        digests.append(digest(tmp_path / "wh" / "demo.duckdb"))
        outputs.append(result.output)
    assert digests[0] == digests[1]
    assert "not loaded again" not in outputs[0]
    assert "already in the warehouse for every account: not loaded again" in outputs[1]  # the history
    assert (tmp_path / "wh" / "report.html").stat().st_size > 10_000
    assert_monitoring_flags_the_injected_drop(config, result.output)
    # every account-day of every channel matches the platform's own totals, said in one line
    assert "reconciliation: 105 account-day(s) reconciled with the platforms' own totals; all within tolerance" in (
        result.output
    )
    # the operator's first question after the demo: everything is in, the marts are level with raw
    status = runner.invoke(app, ["status", "--config", str(config), "--json"])
    assert status.exit_code == 0, status.output
    report = json.loads(status.output)
    assert report["stale"] is False
    assert report["marts_behind_from"] is None
    assert {a["connector"] for a in report["accounts"]} == {
        "google_ads",
        "meta_ads",
        "microsoft_ads",
        "tiktok_ads",
        "linkedin_ads",
    }
    assert all(not a["stale"] and not a["failed_days"] for a in report["accounts"])


def assert_monitoring_flags_the_injected_drop(config: Path, output: str) -> None:
    """The demo's history gives the volume monitor verdicts: ok days, and the sandbox's row drop as anomalies."""
    from mdp.cli import DEMO_DROP_DAYS_AGO, DEMO_SANDBOX_SEED
    from mdp.config import load_config
    from sandbox.data import GOOGLE, SyntheticData

    cfg = load_config(config)
    dropped = (
        "google_ads",
        SyntheticData(DEMO_SANDBOX_SEED).accounts(GOOGLE)[0].account_id,
        dt.datetime.now(cfg.tz).date() - dt.timedelta(days=DEMO_DROP_DAYS_AGO),
    )
    with duckdb.connect(str(cfg.warehouse_path()), read_only=True) as con:
        checks = con.execute(
            "SELECT connector, account_id, day, metric, status FROM ops.volume_checks "
            "WHERE run_id = (SELECT run_id FROM ops.volume_checks ORDER BY checked_at DESC LIMIT 1)"
        ).fetchall()
    statuses = [status for *_, status in checks]
    assert statuses.count("ok") > len(statuses) // 2, statuses
    assert "insufficient_history" not in statuses
    anomalies = {
        (connector, account, day, metric) for connector, account, day, metric, status in checks if status == "anomaly"
    }
    assert {(*dropped, "rows"), (*dropped, "spend")} <= anomalies
    assert f"volume monitor: {statuses.count('ok')} ok" in output
    assert f"anomaly: google_ads {dropped[1]} {dropped[2]} rows" in output


def test_report_reads_the_warehouse_read_only_and_names_a_missing_or_broken_file(tmp_path: Path) -> None:
    import stat

    path = write_config(tmp_path)
    missing = runner.invoke(app, ["report", "--config", str(path), "--out", str(tmp_path / "r.html")])
    assert missing.exit_code == 1
    assert "warehouse file not found" in missing.output
    assert not (tmp_path / "wh").exists()  # no folder, no empty database created

    warehouse = tmp_path / "wh" / "demo.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.filler AS SELECT range AS i FROM range(200000)")
    warehouse.chmod(stat.S_IRUSR)
    warehouse.parent.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        readable = runner.invoke(app, ["report", "--config", str(path), "--out", str(tmp_path / "r.html")])
    finally:
        warehouse.parent.chmod(stat.S_IRWXU)
        warehouse.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert readable.exit_code == 0, readable.output

    data = warehouse.read_bytes()
    warehouse.write_bytes(data[: len(data) // 3])
    broken = runner.invoke(app, ["report", "--config", str(path), "--out", str(tmp_path / "r.html")])
    assert broken.exit_code == 1
    assert (
        f"cannot read warehouse {warehouse}" in broken.output or f"cannot open warehouse {warehouse}" in broken.output
    )
    assert "Traceback" not in broken.output


def test_version() -> None:
    from mdp import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"mdp {__version__}"


@pytest.mark.usefixtures("dead_prefect_api")  # nothing may reach Prefect
def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    result = runner.invoke(
        app, ["run", "--config", str(path), "--start", "2026-01-01", "--end", "2026-03-01", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "dry run: nothing is called or written" in result.output
    assert (
        "google_ads: 2026-01-01 .. 2026-03-01 (60 days); accounts 9874285372, 4115488168, 2774303166; "
        "streams ad_performance, keyword_performance, search_term_performance, geo_performance, "
        "device_performance, conversion_action_performance, account_totals, custom_by_network; chunks of up to 31 "
        "days: 48 unit(s); snapshot streams not taken (window ends before"
    ) in result.output  # 7 report streams + pipeline.yaml's custom query x 3 accounts x 2 chunks; no snapshot
    assert "then: dbt, reconciliation with the platforms' totals, monitoring, forecast and pacing;" in result.output
    assert not (tmp_path / "wh").exists()


def test_help_reads_well_at_80_columns() -> None:
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0
    assert "YYYY-MM-DD" in result.output
    for placeholder in ("<%Y-%m-%d>", "<list[str]>", "<datetime>"):
        assert placeholder not in result.output
    assert "--dry-run" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
