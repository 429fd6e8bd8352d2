"""`mdp`: the command line in front of the common jobs (check, demo, run, sandbox, report, status, pacing)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import os
import re
import shlex
import signal
import threading
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mdp.cli_usage import OneLineUsage, WholeNumber, iso_day, iso_month
from mdp.config import PipelineConfig, load_config
from mdp.errors import MDPError, one_line

app = typer.Typer(
    cls=OneLineUsage,
    help="Marketing Data Platform: Google Ads + Meta Ads into your warehouse, daily.",
    rich_markup_mode="markdown",
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="pipeline.yaml to use (default: $MDP_CONFIG, ./pipeline.yaml)."),
]


def _quiet_telemetry() -> None:
    for name, value in (
        ("DO_NOT_TRACK", "1"),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"),
        ("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600"),
        # A loaded server answers 503 at times: retry longer than Prefect's default 5 times, 502/504 too.
        ("PREFECT_CLIENT_MAX_RETRIES", "10"),
        ("PREFECT_CLIENT_RETRY_EXTRA_CODES", "502,504"),
    ):
        os.environ.setdefault(name, value)


def _load(config: Path | None) -> PipelineConfig:
    try:
        return load_config(config)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


def _today(config: PipelineConfig) -> dt.date:
    return dt.datetime.now(config.tz).date()


# The flag of `mdp run` for each parameter of daily_pipeline.
RUN_FLAGS = {
    "start_date": "--start",
    "end_date": "--end",
    "run_date": "--run-date",
    "lookback_days": "--lookback-days",
    "connectors": "--connector",
    "accounts": "--account",
    "allow_long_range": "--allow-long-range",
    "retry_failed": "--retry-failed",
    "resume": "--resume",
}


def _as_flags(message: str) -> str:
    """A parameter error in the words the user typed: `start_date` becomes `--start` (quoted values stay)."""
    words = r"'[^']*'|\"[^\"]*\"|\b(" + "|".join(RUN_FLAGS) + r")\b"
    return re.sub(words, lambda m: RUN_FLAGS[m.group(1)] if m.group(1) else m.group(0), message)


def _refuse(exc: MDPError) -> NoReturn:
    """Exit 2 with the error on one line: a run parameter named by its flag, a configuration key by its path
    as written in the file (never rewritten into a flag)."""
    from flows.windows import ParameterError

    message = _as_flags(str(exc)) if isinstance(exc, ParameterError) else str(exc)
    err_console.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False)
    raise typer.Exit(2) from None


def _validate_run(cfg: PipelineConfig, parameters: dict[str, Any]) -> dict[str, tuple[dt.date, dt.date]]:
    """Check every parameter of a run (and the FX seed's days) before any flow starts: exit 2 naming
    the flag otherwise, and no flow run is created. Returns each connector's window."""
    from flows.preflight import plan
    from flows.windows import run_parameters

    try:
        return plan(cfg, run_parameters(**parameters), _today(cfg))
    except MDPError as exc:
        _refuse(exc)


def _print_plan(cfg: PipelineConfig, windows: dict[str, tuple[dt.date, dt.date]], parameters: dict[str, Any]) -> None:
    """What a run would do, per connector: window, accounts, units; no API call, nothing written."""
    from connectors.registry import build_connectors
    from flows.ingest import plan_units
    from flows.preflight import accounts_of

    connectors = build_connectors(cfg, list(windows))
    asked = accounts_of(connectors, parameters.get("accounts"))
    run_date = parameters.get("run_date") or _today(cfg)
    console.print("[bold]dry run[/]: nothing is called or written")
    for connector in connectors:
        start, end = windows[connector.name]
        snapshot = end if end == run_date - dt.timedelta(days=1) else None
        configured = list(connector.settings.accounts)
        accounts = [a for a in configured if asked is None or a in asked] if configured else None
        units, skipped = plan_units(
            connector, accounts or ["?"], start, end, snapshot, reconciling=cfg.reconciliation.enabled
        )
        count = f"{len(units)} unit(s)" if accounts is not None else f"{len(units)} unit(s) per account"
        named = escape(", ".join(accounts)) if accounts is not None else "discovered at run time"
        streams = ", ".join(s.name for s in connector.selected_streams if s.name not in skipped)
        console.print(
            f"  {connector.name}: {start} .. {end} ({(end - start).days + 1} days); accounts {named}; "
            f"streams {streams}; chunks of up to {connector.settings.chunk_days} days: {count}"
            + (
                f"; snapshot streams not taken (window ends before {run_date - dt.timedelta(days=1)}): "
                f"{', '.join(skipped)}"
                if skipped
                else ""
            ),
            highlight=False,
        )
    steps = ["dbt"] if parameters.get("run_dbt") else []
    if cfg.reconciliation.enabled:
        steps.append("reconciliation with the platforms' totals" if parameters.get("run_dbt") else "quarantine check")
    steps += ["monitoring"] if parameters.get("run_monitoring") else []
    if parameters.get("run_dbt") and parameters.get("run_forecast", True) and cfg.forecast.enabled:
        steps.append("forecast and pacing")
    console.print(
        f"  then: {', '.join(steps) or 'nothing else'}; each unit replaces its (account, day) rows atomically"
    )


def _print_version(value: bool) -> None:
    if value:
        from mdp import __version__

        console.print(f"mdp {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, metavar="", help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Marketing Data Platform: Google Ads + Meta Ads into your warehouse, daily."""


@app.command()
def status(
    config: ConfigOption = None,
    days: Annotated[int, typer.Option(help="Days checked, ending --end (1-400).", parser=WholeNumber(1, 400))] = 7,
    end: Annotated[
        dt.datetime | None,
        typer.Option("--end", parser=iso_day, metavar="YYYY-MM-DD", help="Last day checked (default: yesterday)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print JSON instead of a table.")] = False,
) -> None:
    """What is loaded, per connector and account: the last loaded day, days missing or failed, quarantined
    rows, the last run; and whether the marts are level with raw. Exits 1 when something is stale."""
    import json

    cfg = _load(config)  # before anything imports Prefect, which creates its home folder
    from flows.fx_coverage import day_ranges
    from flows.status import read_status

    last = end.date() if end else _today(cfg) - dt.timedelta(days=1)
    first = last - dt.timedelta(days=days - 1)
    try:
        found = read_status(cfg, first, last)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(found.as_json()))
        raise typer.Exit(1 if found.stale else 0)
    table = Table(title=f"loads {first} .. {last}")
    for column in ("connector", "account", "last loaded day", "missing", "failed", "quarantined", "last run"):
        table.add_column(column)
    for row in found.accounts:
        table.add_row(
            row.connector,
            escape(row.account),
            str(row.last_loaded_day or "never"),
            day_ranges(row.missing_days) if row.missing_days else "-",
            day_ranges(row.failed_days) if row.failed_days else "-",
            str(row.quarantined),
            f"{row.last_run_status} ({row.last_loaded_at:%Y-%m-%d %H:%M} UTC)" if row.last_loaded_at else "-",
        )
    console.print(table)
    for channel, raw_day in found.raw_last_day.items():
        console.print(
            f"  {channel}: raw through {raw_day or '-'}, marts through {found.marts_last_day.get(channel) or '-'}"
        )
    if found.marts_behind_from is not None:
        console.print(
            f"[yellow]marts behind raw[/] from {found.marts_behind_from}: the next run with dbt (or the dbt "
            "deployment) rebuilds from there"
        )
    for row in found.accounts:
        if row.failed_days and row.last_error:
            streams = f" ({', '.join(row.failed_streams)})" if row.failed_streams else ""
            console.print(
                f"  {row.connector} {escape(row.account)}{streams}: {escape(row.last_error)}", highlight=False
            )
    if found.excluded:
        console.print(f"[red]left out of the marts[/]: {len(found.excluded)} account-day(s) cannot be converted")
        for excluded in found.excluded:
            console.print(f"  {escape(excluded.line())}", highlight=False)
    if found.stale:
        console.print("[red]stale[/]: rerun the missing or failed days, e.g. mdp run --start D --end D --account ID")
        raise typer.Exit(1)
    console.print("[green]fresh[/]: every account has every day, and the marts are level with raw")


@app.command()
def pacing(
    config: ConfigOption = None,
    month: Annotated[
        dt.datetime | None,
        typer.Option(
            "--month", parser=iso_month, metavar="YYYY-MM", help="The month (default: each channel's latest)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", metavar="", help="Print the rows as JSON.")] = False,
) -> None:
    """Where spend and results will land by month end against targets and budgets, from
    marts.pacing_monthly (each channel's latest forecast): a table per grain (channels, accounts, campaigns).
    Exits 1 when anything is off pace (for cron)."""
    import json

    cfg = _load(config)  # before anything imports Prefect, which creates its home folder
    from flows.pacing_marts import json_row, read_pacing
    from warehouse import from_config

    try:
        rows = read_pacing(from_config(cfg, read_only=True), month.date() if month else None)
    except MDPError as exc:
        _refuse(exc)
    off_pace = any(r["off_pace"] for r in rows)
    if as_json:
        typer.echo(json.dumps([json_row(r) for r in rows], indent=2))
        raise typer.Exit(1 if off_pace else 0)
    if not rows:
        console.print(f"no pacing rows{f' for {month:%Y-%m}' if month else ''} in marts.pacing_monthly")
        return
    for grain in ("channel", "account", "campaign"):
        mine = [r for r in rows if r["grain"] == grain]
        if mine:
            console.print(_pacing_table(mine, f"{grain} pacing"))
    count = sum(1 for r in rows if r["off_pace"])
    if off_pace:
        console.print(f"[red]off pace[/]: {count} of {len(rows)} row(s)")
        raise typer.Exit(1)
    console.print(f"[green]on pace[/]: {len(rows)} row(s), none off pace")


def _pacing_table(rows: list[dict[str, Any]], title: str) -> Table:
    """Pacing rows as a table: month-to-date, projected month end with its 80% interval, target or budget,
    ratio and verdict (money in the reporting currency, exact from the Decimals)."""
    from flows.pacing_marts import grain_label

    months = sorted({f"{r['month']:%Y-%m}" for r in rows})
    as_of = sorted({str(r["as_of"]) for r in rows})
    when = as_of[0] if len(as_of) == 1 else f"{as_of[0]} .. {as_of[-1]}"
    currencies = sorted({str(r["currency"]) for r in rows if r["currency"]})
    table = Table(
        title=f"{title}, {', '.join(months)} (as of {when}"
        + (f"; money in {', '.join(currencies)})" if currencies else ")")
    )
    for column in ("grain", "metric", "basis", "month to date", "projected (80%)", "target", "ratio", "verdict"):
        table.add_column(column, justify="right" if column in ("month to date", "target", "ratio") else "left")
    for row in rows:
        metric = str(row["metric"])
        low, high = row["projected_lo80"], row["projected_hi80"]
        interval = f" ({_value(low, metric)} .. {_value(high, metric)})" if low is not None and high is not None else ""
        ratio = row["pacing_ratio"]
        verdict = str(row["verdict"]).replace("_", " ")
        table.add_row(
            escape(grain_label(row)),
            metric,
            "budget" if row["basis"] == "daily_budget" else str(row["basis"]),
            _value(row["mtd_actual"], metric),
            _value(row["projected"], metric) + interval,
            _value(row["target"], metric),
            "-" if ratio is None else f"{float(ratio):.0%}",
            f"[red]{verdict}[/]" if row["off_pace"] else verdict,
        )
    return table


def _value(amount: Any, metric: str) -> str:
    """A pacing value: money and ROAS with 2 decimals, conversions with 1; "-" when null."""
    if amount is None:
        return "-"
    digits = Decimal("0.1") if metric == "conversions" else Decimal("0.01")
    return f"{Decimal(str(amount)).quantize(digits, ROUND_HALF_UP):,}"


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the configuration and the warehouse, and print what a run would do."""
    from connectors.registry import build_connectors

    cfg = _load(config)  # the configuration and the connectors' settings before anything imports Prefect
    from flows.dbt_channels import channels, project_vars
    from flows.dbt_custom import custom_dbt
    from flows.preflight import check_warehouse
    from mdp.targets import load_targets

    try:
        connectors = build_connectors(cfg)
        custom = custom_dbt(cfg, connectors)
        project_vars(cfg)
        channel_names = channels()
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    from flows.fx_coverage import FX_SEED, seed_days

    rates = seed_days()
    if cfg.reporting_currency not in rates:
        err_console.print(
            f"[bold red]error:[/] reporting_currency: {cfg.reporting_currency} has no rates in {FX_SEED.name} "
            f"(it has {', '.join(sorted(rates))}): add its rates there or choose one of those",
            highlight=False,
        )
        raise typer.Exit(2)
    try:
        targets = load_targets(cfg)  # after the reporting currency: the money targets must be in it
        check_warehouse(cfg, blocks=False)
    except MDPError as exc:
        _refuse(exc)
    today = _today(cfg)
    console.print(f"[bold]configuration[/] {escape(str(cfg.source))}: [green]valid[/]")
    console.print(f"  pipeline clock: {cfg.timezone} (today is {today}); reporting currency {cfg.reporting_currency}")
    first, last = min(min(d) for d in rates.values()), max(max(d) for d in rates.values())
    console.print(f"  FX rates: {', '.join(sorted(rates))} from {first} to {last} ({FX_SEED.name})")
    if cfg.warehouse.type == "duckdb":
        console.print(f"  warehouse: DuckDB file {escape(str(cfg.warehouse_path()))}")
    else:
        console.print(f"  warehouse: {cfg.warehouse.type} {escape(str(cfg.warehouse.model_dump(exclude={'type'})))}")
    alerts = cfg.alerts.slack_webhook_block
    console.print(f"  alerts: Slack block {escape(repr(alerts))}" if alerts else "  alerts: none configured")
    console.print(f"  channels in the marts: {', '.join(channel_names)}")
    if custom.models:
        console.print(f"  custom streams: {', '.join(m.model for m in custom.models)}")
    if custom.metrics:
        metrics = ", ".join(f"{m.name} ({', '.join(sorted(m.sources))})" for m in custom.metrics)
        console.print(f"  passthrough metrics: {metrics}")
    if cfg.forecast.enabled:
        console.print(
            f"  forecast: to the month's end (at least {cfg.forecast.horizon_days} days), "
            f"{len(targets)} pacing target(s)" + (", campaigns' daily budgets" if cfg.pacing.budgets else "")
        )
    else:
        console.print("  forecast: off (forecast.enabled is false)")
    if not connectors:
        console.print("  connectors: none enabled; a run would only rebuild the marts")
        return
    console.print("[bold]a run today would extract[/]")
    for connector in connectors:
        start = today - dt.timedelta(days=max(connector.lookback_days, 1))
        end = today - dt.timedelta(days=1)
        refs = escape(", ".join(f"{k}={v}" for k, v in connector.settings.credentials.items()) or "-")
        accounts = [escape(a) for a in connector.settings.accounts]
        console.print(
            f"  [cyan]{connector.name}[/] ({connector.type_name})\n"
            f"    streams: {', '.join(f'{st.name} -> {st.table.name}' for st in connector.selected_streams)}\n"
            f"    days {start} .. {end} (lookback {connector.lookback_days}), "
            f"chunks of {connector.settings.chunk_days} days, "
            f"{connector.settings.max_concurrency} at a time\n"
            f"    accounts: {', '.join(accounts) if accounts else 'discovered at run time'}\n"
            f"    credentials: {refs}",
            highlight=False,
        )


@app.command("dbt-vars")
def dbt_vars(config: ConfigOption = None) -> None:
    """Print the dbt vars a run passes (JSON): what the configuration implies (reporting currency,
    reconciliation tolerances, ...). For a plain `dbt build --vars "$(mdp dbt-vars)"` (after `mdp dbt-deps`)."""
    import json

    cfg = _load(config)  # before anything imports Prefect, which creates its home folder
    from flows.dbt_channels import project_vars

    try:
        values = project_vars(cfg)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(values, sort_keys=True))


@app.command("dbt-deps")
def dbt_deps(config: ConfigOption = None) -> None:
    """Link the dbt packages of the registered plug-in connectors into transformations/dbt_packages and write
    the configuration's (custom streams' staging, passthrough metrics), as every run does before dbt: then a
    plain `dbt build` in transformations/ builds every channel (with the env var it prints, if any)."""
    cfg = _load(config)
    from flows.dbt_channels import link_plugin_packages
    from flows.dbt_custom import COMMITTED_PROPERTIES, PROPERTIES_ENV, write_custom_package

    try:
        linked = link_plugin_packages()
        custom = write_custom_package(cfg)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"plug-in dbt packages linked: {', '.join(linked) if linked else 'none'}", highlight=False)
    console.print(f"custom staging models: {len(custom.models)}; passthrough metrics: {len(custom.metrics)}")
    folder = custom.env[PROPERTIES_ENV]
    if folder != str(COMMITTED_PROPERTIES):
        console.print(f"export {PROPERTIES_ENV}={folder}   # before a plain dbt command", highlight=False)


DEMO_DAYS = 30
DEMO_SANDBOX_SEED = 42
DEMO_DROP_DAYS_AGO = 3  # the demo sandbox drops 90% of one Google account's rows on this recent day


@app.command()
def demo(
    config: ConfigOption = None,
    days: Annotated[
        int, typer.Option(help="Days to load, ending yesterday (1-400).", parser=WholeNumber(1, 400))
    ] = DEMO_DAYS,
) -> None:
    """Run the main job on the embedded defaults: start the sandbox, load the last days of every
    configured sandbox connector into DuckDB, rebuild the marts, check volumes, and print what landed.

    Before those days, the tables the volume monitor reads get `monitoring.weeks` weeks of history, so
    its same-weekday baselines give verdicts; the sandbox drops most of one Google account's rows on a
    recent day, which the monitor flags as an anomaly."""
    _quiet_telemetry()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # before anything imports Prefect
    from sandbox.config import SandboxConfig
    from sandbox.data import GOOGLE, SyntheticData
    from sandbox.faults import Fault
    from sandbox.runner import SANDBOX_SECRETS, start_sandbox

    cfg = _load(config)
    console.print(f"[bold]Marketing Data Platform demo[/] with {cfg.source}")
    for name, value in SANDBOX_SECRETS.items():
        os.environ.setdefault(name, value)
    today = _today(cfg)
    start, end = today - dt.timedelta(days=days), today - dt.timedelta(days=1)
    history_start = start - dt.timedelta(weeks=cfg.monitoring.weeks)
    dropped_account = SyntheticData(DEMO_SANDBOX_SEED).accounts(GOOGLE)[0].account_id
    drop = Fault(
        "row_drop",
        channel=GOOGLE,
        account=dropped_account,
        day=today - dt.timedelta(days=DEMO_DROP_DAYS_AGO),
        params={"keep_fraction": 0.1},
    )
    with start_sandbox(SandboxConfig(seed=DEMO_SANDBOX_SEED, as_of=today, faults=[drop])) as sandbox:
        console.print(
            f"sandbox: Google Ads at {sandbox.google_endpoint}, Meta Graph at {sandbox.meta_url}, "
            f"Microsoft Advertising at {sandbox.microsoft_url}, TikTok at {sandbox.tiktok_url}, "
            f"LinkedIn Marketing at {sandbox.linkedin_url}"
        )
        console.print(f"  injected: 90% of Google Ads account {dropped_account}'s rows dropped on {drop.day}")
        history_config = _aim_at_sandbox(cfg, sandbox.endpoints(), monitored_only=True)
        console.print(
            f"loading history {history_start} .. {start - dt.timedelta(days=1)} "
            f"({cfg.monitoring.weeks} weeks) of the tables the volume monitor reads"
        )
        history_cfg = load_config(history_config)
        if _history_loaded(history_cfg, history_start, start - dt.timedelta(days=1)):
            console.print("  already in the warehouse for every account: not loaded again")
            history = None
        else:
            history = _run_pipeline(
                history_cfg,
                verbose=False,
                start_date=history_start,
                end_date=start - dt.timedelta(days=1),
                run_dbt=False,
                run_monitoring=False,
                run_forecast=False,
            )
        demo_config = _aim_at_sandbox(cfg, sandbox.endpoints())
        console.print(f"loading {start} .. {end} ({days} days) into {cfg.warehouse_path()}")
        state = _run_pipeline(load_config(demo_config), verbose=False, start_date=start, end_date=end)
    _print_channel_summary(cfg, start, end)
    _print_pacing_summary(cfg)
    if state.is_completed():
        _print_monitoring_summary(cfg, state.result().run_id)
    from flows.report import write_report

    with console.status("writing the report"):
        path = write_report(cfg, cfg.warehouse_path().parent / "report.html")
    console.print(f"[green]report:[/] {path}")
    if not (state.is_completed() and (history is None or history.is_completed())):
        raise typer.Exit(1)


def _history_loaded(cfg: PipelineConfig, first: dt.date, last: dt.date) -> bool:
    """Whether every day first..last of each connector's monitored table is loaded (ops.load_log) for every
    account that table has ever loaded, and each connector has such accounts (so a second demo skips it)."""
    from connectors.registry import build_connectors
    from warehouse import from_config
    from warehouse.base import LOAD_LOG, sql_table, table_exists

    if not cfg.warehouse_path().exists():
        return False
    warehouse = from_config(cfg, read_only=True)
    if not table_exists(warehouse, LOAD_LOG):
        return False
    days = (last - first).days + 1
    for connector in build_connectors(cfg):
        rows = warehouse.query(
            "SELECT account_id, count(DISTINCT day) FILTER (WHERE day BETWEEN ? AND ?) "
            f"FROM {sql_table(warehouse, LOAD_LOG)} WHERE connector = ? AND table_name = ? AND status = 'success' "
            "GROUP BY account_id",
            [first, last, connector.name, connector.table.name],
        )
        if not rows or any(count < days for _, count in rows):
            return False
    return True


def _aim_at_sandbox(cfg: PipelineConfig, endpoints: dict[str, dict[str, str]], *, monitored_only: bool = False) -> Path:
    """A copy of the configuration whose sandbox connectors point at the running sandbox's ports (`endpoints`:
    per connector type, the keys to rewrite where set); `monitored_only`: each connector extracts only the
    stream of the table the volume monitor reads."""
    import yaml

    from connectors.registry import connector_class

    assert cfg.source is not None
    data = yaml.safe_load(cfg.source.read_text(encoding="utf-8")) or {}
    for section in data.get("connectors") or []:
        for key, value in endpoints.get(section.get("type", ""), {}).items():
            if section.get(key):
                section[key] = value
        if monitored_only:
            cls = connector_class(section["type"])
            section["streams"] = [s.name for s in cls.streams if s.table is cls.table]
    if cfg.pacing.targets_file is not None and not cfg.pacing.targets_file.is_absolute():  # relative to the copy
        data.setdefault("pacing", {})["targets_file"] = str(cfg.base_dir / cfg.pacing.targets_file)
    data.setdefault("warehouse", {})
    if data["warehouse"].get("type", "duckdb") == "duckdb":
        data["warehouse"]["path"] = str(cfg.warehouse_path())
    target = cfg.warehouse_path().parent / "demo" / ("history.yaml" if monitored_only else "pipeline.yaml")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "# Written by `mdp demo`: the project's pipeline.yaml aimed at this run's sandbox ports.\n"
        + yaml.safe_dump(data, sort_keys=False),
        encoding="utf-8",
    )
    return target


def _print_channel_summary(cfg: PipelineConfig, start: dt.date, end: dt.date) -> None:
    """Spend, conversions, revenue and ROAS per channel in the reporting currency, read from the marts."""
    from warehouse import from_config

    wh = from_config(cfg)
    try:
        rows = wh.query(
            "SELECT channel, sum(spend_reporting), sum(conversions), sum(conversion_value_reporting) "
            "FROM marts.mart_channel_performance_daily WHERE date_day BETWEEN ? AND ? "
            "GROUP BY ALL ORDER BY ALL",
            [start, end],
        )
    except Exception as exc:  # the marts do not exist when nothing landed or dbt did not run
        err_console.print(f"[yellow]no summary:[/] {escape(str(exc).splitlines()[0])}", highlight=False)
        return
    currency = cfg.reporting_currency
    table = Table(title=f"{start} .. {end}, in {currency} (marts.mart_channel_performance_daily)")
    for column in ("channel", "spend", "conversions", "revenue", "ROAS"):
        table.add_column(column, justify="left" if column == "channel" else "right")
    # money is DECIMAL in the marts: added and printed as Decimal (never through a float); conversions are float
    total_spend, total_conversions, total_revenue = Decimal(0), 0.0, Decimal(0)
    for channel, spend, conversions, revenue in rows:
        spend, revenue = Decimal(spend or 0), Decimal(revenue or 0)
        table.add_row(channel, _money(spend), f"{conversions or 0:,.1f}", _money(revenue), _roas(revenue, spend))
        total_spend, total_conversions, total_revenue = (
            total_spend + spend,
            total_conversions + float(conversions or 0),
            total_revenue + revenue,
        )
    if rows:
        table.add_row(
            "all channels",
            _money(total_spend),
            f"{total_conversions:,.1f}",
            _money(total_revenue),
            _roas(total_revenue, total_spend),
        )
    console.print(table)


def _print_pacing_summary(cfg: PipelineConfig) -> None:
    """The month's spend pacing per channel from marts.pacing_monthly, when the forecast step wrote it."""
    from flows.pacing_marts import PacingNotComputed, read_pacing
    from warehouse import from_config

    try:
        rows = read_pacing(from_config(cfg, read_only=True))
    except PacingNotComputed:
        console.print("pacing: not computed (the forecast step is off or has not run)")
        return
    spend = [r for r in rows if r["grain"] == "channel" and r["metric"] == "spend"]
    if spend:
        console.print(_pacing_table(spend, "spend pacing per channel (marts.pacing_monthly)"))
    else:
        console.print("pacing: no channel has a spend target or budget this month")


def _print_monitoring_summary(cfg: PipelineConfig, run_id: str) -> None:
    """The run's volume checks per status, and its anomalies, read from ops.volume_checks."""
    from flows.monitor import VOLUME_CHECKS
    from flows.volume import STATUSES
    from warehouse import from_config
    from warehouse.base import sql_table

    wh = from_config(cfg, read_only=True)
    checks = sql_table(wh, VOLUME_CHECKS.name)
    rows = wh.query(f"SELECT status, count(*) FROM {checks} WHERE run_id = ? GROUP BY 1", [run_id])
    tally = {str(status): int(n) for status, n in rows}
    console.print(
        "[bold]volume monitor[/]: " + ", ".join(f"{tally.get(status, 0)} {status}" for status in reversed(STATUSES))
    )
    anomalies = wh.query(
        f"SELECT connector, account_id, day, metric, observed, baseline FROM {checks} "
        "WHERE run_id = ? AND status = 'anomaly' ORDER BY connector, day, account_id, metric",
        [run_id],
    )
    for connector, account, day, metric, observed, base in anomalies:
        seen = "-" if observed is None else f"{observed:,.2f}"
        usual = "" if base is None else f" vs usual {base:,.2f}"
        console.print(f"  anomaly: {connector} {account} {day} {metric} {seen}{usual}", highlight=False)


def _roas(revenue: Decimal, spend: Decimal) -> str:
    return f"{float(revenue) / float(spend):.2f}" if spend else "-"


def _money(amount: Decimal) -> str:
    """An amount with 2 decimal places, rounded half up from the Decimal."""
    return f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


@app.command()
def report(
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", dir_okay=False, help="HTML file to write (default: data/report.html)."),
    ] = None,
    days: Annotated[int, typer.Option(help="Days of history to chart (1-1000).", parser=WholeNumber(1, 1000))] = 90,
) -> None:
    """Write one self-contained HTML report: spend, revenue and ROAS per channel, top campaigns, and the
    last volume checks."""
    cfg = _load(config)  # before anything imports Prefect, which creates its home folder
    from flows.report import write_report

    try:
        path = write_report(cfg, out or cfg.warehouse_path().parent / "report.html", days)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"report: {path}")


@app.command()
def sandbox(
    google_port: Annotated[
        int, typer.Option(help="gRPC port of the Google Ads sandbox (0: any free port).", parser=WholeNumber(0, 65535))
    ] = 50051,
    meta_port: Annotated[
        int, typer.Option(help="HTTP port of the Meta Graph sandbox (0: any free port).", parser=WholeNumber(0, 65535))
    ] = 8700,
    microsoft_port: Annotated[
        int,
        typer.Option(
            help="HTTP port of the Microsoft Advertising sandbox (0: any free port).", parser=WholeNumber(0, 65535)
        ),
    ] = 8701,
    tiktok_port: Annotated[
        int,
        typer.Option(
            help="HTTP port of the TikTok Business API sandbox (0: any free port).", parser=WholeNumber(0, 65535)
        ),
    ] = 8702,
    linkedin_port: Annotated[
        int,
        typer.Option(
            help="HTTP port of the LinkedIn Marketing sandbox (0: any free port).", parser=WholeNumber(0, 65535)
        ),
    ] = 8703,
    seed: Annotated[
        int | None, typer.Option(help="Data seed (default: $MDP_SANDBOX_SEED or 42).", parser=WholeNumber(0, 2**63 - 1))
    ] = None,
    accounts: Annotated[
        int | None,
        typer.Option(help="Accounts per channel (default 3, at most 10000).", parser=WholeNumber(1, 10_000)),
    ] = None,
    state_dir: Annotated[
        Path,
        typer.Option(
            file_okay=False, help="Where the TLS certificate (reused across restarts) and sandbox.env are kept."
        ),
    ] = Path("data/sandbox"),
) -> None:
    """Start the local Google Ads and Meta API sandboxes, print their endpoints and a pipeline.yaml
    fragment, and run until Ctrl-C."""
    from dataclasses import replace

    from sandbox.config import SandboxConfig
    from sandbox.runner import run_forever

    config = SandboxConfig.from_env()
    if seed is not None:
        config = replace(config, seed=seed)
    if accounts is not None:
        config = replace(
            config,
            google_accounts=accounts,
            meta_accounts=accounts,
            microsoft_accounts=accounts,
            tiktok_accounts=accounts,
            linkedin_accounts=accounts,
        )
    state = state_dir.expanduser().resolve()
    if config.cert_dir is None:  # a stable CA path: exported variables stay valid across restarts
        config = replace(config, cert_dir=state)
    run_forever(
        config,
        google_port=google_port,
        meta_port=meta_port,
        microsoft_port=microsoft_port,
        tiktok_port=tiktok_port,
        linkedin_port=linkedin_port,
        env_file=state / "sandbox.env",
    )


@app.command()
def run(
    config: ConfigOption = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option("--start", parser=iso_day, metavar="YYYY-MM-DD", help="First day (rerun/backfill)."),
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option("--end", parser=iso_day, metavar="YYYY-MM-DD", help="Last day (default: yesterday)."),
    ] = None,
    run_date: Annotated[
        dt.datetime | None,
        typer.Option("--run-date", parser=iso_day, metavar="YYYY-MM-DD", help="The run's 'today'."),
    ] = None,
    lookback_days: Annotated[
        int | None,
        typer.Option(
            "--lookback-days", help="Override every connector's lookback (0-400).", parser=WholeNumber(0, 400)
        ),
    ] = None,
    connector: Annotated[
        list[str] | None, typer.Option("--connector", metavar="NAME", help="Only this connector (repeatable).")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", metavar="ID", help="Only this account (repeatable).")
    ] = None,
    dbt: Annotated[bool, typer.Option("--dbt/--no-dbt", metavar="", help="Rebuild the dbt models afterwards.")] = True,
    monitoring: Annotated[
        bool, typer.Option("--monitoring/--no-monitoring", metavar="", help="Check volumes afterwards.")
    ] = True,
    forecast: Annotated[
        bool,
        typer.Option("--forecast/--no-forecast", metavar="", help="Forecast and pace the month after dbt."),
    ] = True,
    allow_long_range: Annotated[
        bool, typer.Option("--allow-long-range", metavar="", help="Load more than 37 months in one run, on purpose.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", metavar="", help="Show Prefect's run logs.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", metavar="", help="Print what the run would load; call no API, write nothing.")
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            metavar="",
            help="Rerun exactly the units a run failed to load (RUN_ID, default: the latest such run).",
        ),
    ] = False,
    run_id: Annotated[
        str | None,
        typer.Argument(metavar="[RUN_ID]", help="With --retry-failed: the run to retry.", show_default=False),
    ] = None,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            metavar="RUN_ID",
            help="Finish an interrupted run: same flags, skip the units RUN_ID already loaded.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the daily pipeline once, locally (ingest, dbt, monitoring), with live progress."""
    _quiet_telemetry()  # before Prefect is imported: it reads its settings once
    cfg = _load(config)
    if run_id is not None and not retry_failed:
        err_console.print(f"[bold red]error:[/] RUN_ID {escape(run_id)} is only read with --retry-failed")
        raise typer.Exit(2)
    retry = (run_id or "latest") if retry_failed else None
    parameters: dict[str, Any] = {
        "start_date": start.date() if start else None,
        "end_date": end.date() if end else None,
        "run_date": run_date.date() if run_date else None,
        "lookback_days": lookback_days,
        "connectors": connector or None,
        "accounts": account or None,
        "run_dbt": dbt,
        "run_monitoring": monitoring,
        "run_forecast": forecast,
        "allow_long_range": allow_long_range,
        "retry_failed": retry,
        "resume": resume,
    }
    windows = _validate_run(cfg, parameters)
    if resume is not None:
        _check_resume(cfg, resume)
    if retry is not None and not _print_retry(cfg, retry, dry_run):
        return
    if dry_run:
        _print_plan(cfg, windows, parameters)
        return
    _preflight(cfg, list(windows) or connector or [c.name for c in cfg.enabled_connectors()])
    state = _run_pipeline(cfg, verbose=verbose, **parameters)
    if not state.is_completed():
        raise typer.Exit(1)


def _preflight(cfg: PipelineConfig, connectors: list[str]) -> None:
    """Exit 2 naming the key unless the warehouse is usable and the connectors' `env:` credentials are set,
    before anything is called or created (the flow checks them again, and what needs a Prefect block)."""
    from flows.preflight import check_credentials, check_warehouse

    try:
        check_warehouse(cfg, blocks=False)
        check_credentials(cfg, connectors, blocks=False)
    except MDPError as exc:
        _refuse(exc)


def _print_retry(cfg: PipelineConfig, run_id: str, dry_run: bool) -> bool:
    """Print the units a retry would rerun; False when there is nothing to rerun or only a dry run."""
    from flows.retry import failed_units
    from warehouse import from_config

    try:
        run, units = failed_units(from_config(cfg, read_only=True), cfg, run_id)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    if not units:
        console.print(
            "nothing to retry: every unit of ops.load_log is loaded"
            if run_id == "latest"
            else f"nothing to retry: run {escape(run_id)} has no unit still failed"
        )
        return False
    console.print(f"{'would rerun' if dry_run else 'rerunning'} {len(units)} failed unit(s) of run {run}:")
    for unit in units:
        console.print(
            f"  {unit.connector} {unit.stream} account {unit.account} {unit.start}..{unit.end}", highlight=False
        )
    return not dry_run


def _check_resume(cfg: PipelineConfig, run_id: str) -> None:
    """Exit 2 when the run to resume is not in ops.load_log; otherwise say how much of it is in."""
    from flows.retry import landed_days
    from warehouse import from_config

    try:
        landed = landed_days(from_config(cfg, read_only=True), run_id)
    except MDPError as exc:
        _refuse(exc)
    console.print(f"resuming run {escape(run_id)}: {len(landed):,} (account, day) load(s) landed, not extracted again")


def _run_pipeline(cfg: PipelineConfig, *, verbose: bool, **parameters: Any) -> Any:
    """Run `daily_pipeline` in this process with a Rich progress bar per connector; print the outcome."""
    _quiet_telemetry()
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from deployments.local import running_local_server

    api_url = running_local_server(cfg)
    if api_url is None:
        return _run_with_progress(cfg, parameters, verbose)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    console.print(f"Prefect: the local server at {api_url} (runs show in its UI)")
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        return _run_with_progress(cfg, parameters, verbose)


def _stop_orphans() -> None:
    from deployments.local import stop_orphaned_temporary_servers

    orphans = stop_orphaned_temporary_servers()
    if orphans:
        console.print(f"stopped {len(orphans)} temporary Prefect server(s) a killed run left behind (PID {orphans})")


def _run_with_progress(cfg: PipelineConfig, parameters: dict[str, Any], verbose: bool = False) -> Any:
    from prefect import tags
    from prefect.settings import temporary_settings
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from deployments.local import claim_temporary_server, mark_stale_runs, run_tag
    from flows import progress
    from flows.daily import daily_pipeline
    from mdp.prefect_tls import lean_tls_settings

    _stop_orphans()
    claim_temporary_server()
    crashed = asyncio.run(mark_stale_runs())
    if crashed:
        console.print(f"marked Crashed {len(crashed)} flow run(s) whose process is gone: {', '.join(crashed)}")

    rows: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    failed: dict[str, int] = {}
    planned: dict[str, int] = {}
    done: dict[str, int] = {}
    run_ids: set[str] = set()
    # "today" as this run sees it, pinned in the command that finishes it (the window must not move overnight)
    pinned_today = _today(cfg) if parameters.get("end_date") is None else None
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]:>16}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        # until the flow's first event: the Prefect server (a temporary one takes seconds), the flow run,
        # the connectors' clients
        ids: dict[str, Any] = {"start-up": bar.add_task("start-up", total=1, detail="Prefect, clients")}

        lock = threading.Lock()  # dbt reports nodes from several threads at once

        def on_event(event: progress.ProgressEvent) -> None:
            with lock:
                _on_event(event)

        def _on_event(event: progress.ProgressEvent) -> None:
            bar.update(ids["start-up"], completed=1, detail="")
            if event.kind == "step":
                if event.connector not in ids:
                    ids[event.connector] = bar.add_task(event.connector, total=1, detail="running")
                if event.units:
                    bar.update(ids[event.connector], completed=1, detail="failed" if event.failed else "done")
                return
            name = "dbt nodes" if event.kind == "dbt_node" else event.connector
            if name not in ids:
                ids[name] = bar.add_task(name, total=None, detail="")
            if event.kind == "planned":
                if event.run_id:
                    run_ids.add(event.run_id)
                planned[name] = event.units
                bar.update(ids[name], total=event.units)
                return
            failed[name] = failed.get(name, 0) + int(event.failed)
            done[name] = done.get(name, 0) + int(not event.failed)
            if event.kind == "dbt_node":
                detail = f"{failed[name]:,} failed" if failed[name] else ""
            else:
                rows[name] = rows.get(name, 0) + event.rows
                quarantined[name] = quarantined.get(name, 0) + event.quarantined
                detail = f"{rows[name]:,} rows"
                if quarantined[name]:
                    detail += f", [red]{quarantined[name]:,} quarantined[/]"
            bar.update(ids[name], advance=1, detail=detail)

        def on_interrupt(signum: int, frame: Any) -> None:
            """Ctrl-C: the units still extracting run in worker threads that cannot be cancelled, so stop
            here: say what landed and how to finish, stop the temporary Prefect server, exit 130."""
            with lock:
                bar.stop()
                landed = ", ".join(f"{n} {done.get(n, 0)}/{t}" for n, t in sorted(planned.items())) or "none"
                again = {**parameters, "run_date": parameters.get("run_date") or pinned_today}
                if parameters.get("resume"):
                    how = "the units that landed are not extracted again"  # the same --resume RUN_ID
                elif sum(done.get(n, 0) for n in planned) and len(run_ids) == 1 and not parameters.get("retry_failed"):
                    again["resume"] = next(iter(run_ids))
                    how = "the units that landed are not extracted again"
                else:
                    how = "landed days are replaced, never duplicated"
                err_console.print(
                    f"[bold yellow]interrupted[/]: units landed {landed} ({sum(rows.values()):,} rows); each "
                    "landed unit is complete (loads are atomic), the others are untouched.\nTo finish, run "
                    f"({how}):\n  " + escape(_command_line(cfg, again)),
                    highlight=False,
                )
                _stop_temporary_server()
                os._exit(130)

        unsubscribe = progress.subscribe(on_event)
        previous = signal.signal(signal.SIGINT, on_interrupt)
        try:
            with (
                tags(run_tag()),
                temporary_settings(updates=lean_tls_settings()),
                _logs_above(bar.console, tracebacks=verbose),
            ):
                call: Any = daily_pipeline(config_path=str(cfg.source), return_state=True, **parameters)
                state: Any = asyncio.run(call)
        finally:
            signal.signal(signal.SIGINT, previous)
            unsubscribe()
    if state.is_completed():
        summary = state.result()
        steps = ", ".join(f"{k}: {v}" for k, v in summary.steps.items()) or "none"
        console.print(f"[green]run {summary.run_id} completed[/]: {sum(rows.values()):,} rows loaded; steps {steps}")
        if summary.reconciliation is not None:
            console.print(f"[bold]reconciliation[/]: {escape(summary.reconciliation.summary())}", highlight=False)
    else:
        err_console.print(f"[bold red]run failed:[/] {escape(str(state.message))}", highlight=False)
        if any(failed.get(name) for name in planned) or "step reconciliation: failed" in str(state.message):
            err_console.print(
                f"retry the failed units once fixed: mdp run --config {escape(str(cfg.source))} --retry-failed "
                f"{state.state_details.flow_run_id}",
                highlight=False,
            )
    return state


@contextlib.contextmanager
def _logs_above(live: Any, *, tracebacks: bool = True) -> Iterator[None]:
    """Prefect's console log lines (warnings, --verbose) printed through the live progress display's
    console, above the bars, instead of being written into them; without `tracebacks`, a record's message
    only (Prefect's API log handler, and so its UI, still get the traceback)."""
    from prefect.logging.handlers import PrefectConsoleHandler

    handlers = [h for h in logging.getLogger().handlers if isinstance(h, PrefectConsoleHandler)]
    saved = [(h.console, h.formatter) for h in handlers]
    for handler in handlers:
        handler.console = live
        if not tracebacks:
            handler.setFormatter(_WithoutTraceback(handler.formatter))
    try:
        yield
    finally:
        for handler, (console_, formatter) in zip(handlers, saved, strict=True):
            handler.console = console_
            handler.setFormatter(formatter)


class _WithoutTraceback(logging.Formatter):
    """A record formatted by `inner` without its traceback or stack (on a copy: other handlers keep them)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = copy.copy(record)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return self.inner.format(record)


def _stop_temporary_server() -> None:
    """Stop the temporary Prefect server this process started (it would outlive an os._exit)."""
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        with contextlib.suppress(Exception):
            server.stop()


def _command_line(cfg: PipelineConfig, parameters: dict[str, Any]) -> str:
    """The `mdp run` command line that asks for the same run."""
    words = ["mdp", "run", "--config", str(cfg.source)]
    for key, flag in (("start_date", "--start"), ("end_date", "--end"), ("run_date", "--run-date")):
        if parameters.get(key) is not None:
            words += [flag, str(parameters[key])]
    if parameters.get("lookback_days") is not None:
        words += ["--lookback-days", str(parameters["lookback_days"])]
    for key, flag in (("connectors", "--connector"), ("accounts", "--account")):
        for value in parameters.get(key) or []:
            words += [flag, str(value)]
    words += [] if parameters.get("run_dbt", True) else ["--no-dbt"]
    words += [] if parameters.get("run_monitoring", True) else ["--no-monitoring"]
    words += [] if parameters.get("run_forecast", True) else ["--no-forecast"]
    words += ["--allow-long-range"] if parameters.get("allow_long_range") else []
    if parameters.get("retry_failed"):
        words += ["--retry-failed"] + ([] if parameters["retry_failed"] == "latest" else [parameters["retry_failed"]])
    if parameters.get("resume"):
        words += ["--resume", parameters["resume"]]
    return shlex.join(words)


@app.command()
def deploy(
    config: ConfigOption = None,
    local: Annotated[
        bool, typer.Option("--local", metavar="", help="Local process work pool on a local server.")
    ] = False,
    port: Annotated[
        int,
        typer.Option(help="Port of the local Prefect server, when one must be started.", parser=WholeNumber(1, 65535)),
    ] = 4200,
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            exists=True,
            dir_okay=False,
            help="NAME=value lines the worker's flow runs inherit, e.g. data/sandbox/sandbox.env from `mdp sandbox`.",
        ),
    ] = None,
    stop: Annotated[
        bool, typer.Option("--stop", metavar="", help="Stop the worker and server --local started.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            help="Workers to start on the local pool (execution: deployments spreads shards over them).",
            parser=WholeNumber(1, 16),
        ),
    ] = 1,
    worker_limit: Annotated[
        int | None,
        typer.Option(help="Flow runs each worker runs at once (default: no limit).", parser=WholeNumber(1, 1000)),
    ] = None,
) -> None:
    """Deploy the flows. --local: start a Prefect server on 127.0.0.1 if none answers, create the process
    work pool and the Slack block, deploy the *-local deployments of prefect.yaml, start a worker (replacing
    the one a previous --local started). --local --stop: stop what --local started."""
    _quiet_telemetry()
    if not local:
        err_console.print(
            "Production deployments are made by CI (.github/workflows/deploy.yml), on the Docker pool:\n"
            "  MDP_IMAGE=... MDP_IMAGE_TAG=... MDP_TIMEZONE=... \\\n"
            "  prefect --no-prompt deploy -n daily -n rerun -n dbt -n monitor\n"
            "or on the Cloud Run pool (-n daily-cloud-run ...; see docs/deployment.md).\n"
            "Use --local for a local server, process pool and worker."
        )
        raise typer.Exit(2)
    from deployments.local import down, read_env_file, up

    cfg = _load(config)
    if stop:
        stopped = down(cfg)
        console.print(f"stopped PID {', '.join(map(str, stopped))}" if stopped else "nothing to stop")
        return
    try:
        env = read_env_file(env_file) if env_file else None
    except MDPError as exc:
        _refuse(exc)
    try:
        console.print("starting or reusing the Prefect server, then deploying (a minute or two on a busy machine)")
        stack = up(cfg, port, env=env, workers=workers, worker_limit=worker_limit)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]Prefect UI:[/] {stack.ui_url}")
    console.print(f"  deployments: {', '.join(stack.deployments)} on work pool 'mdp-process'")
    if stack.stopped:
        console.print(f"  replaced the previous worker (PID {', '.join(map(str, stack.stopped))})")
    log_dir = stack.state_file.parent if stack.state_file else None
    if len(stack.worker_pids) > 1:
        pids = ", ".join(map(str, stack.worker_pids))
        console.print(f"  worker PIDs {pids} (logs: {escape(str(log_dir))}/prefect-worker-N.log)")
    else:
        console.print(f"  worker PID {stack.worker_pid} (log: {escape(str(log_dir))}/prefect-worker.log)")
    if stack.server_pid:
        console.print(f"  server PID {stack.server_pid}")
    else:
        console.print(f"  server: an existing one at {stack.api_url} (not started here)")
    if env:
        console.print(f"  the worker's runs inherit {', '.join(sorted(env))} from {escape(str(env_file))}")
    console.print("  stop them with: mdp deploy --local --stop")
    console.print("  runs read pipeline.yaml; for its sandbox connectors, keep `mdp sandbox` running")
    console.print(
        "  run a backfill: open Deployments > daily_pipeline/rerun-local > Run > Custom run,\n"
        "  set start_date and end_date;\n"
        f"  or: PREFECT_API_URL={stack.api_url} prefect deployment run 'daily_pipeline/rerun-local' "
        "-p start_date=2026-01-01 -p end_date=2026-01-31"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
