"""`mdp`: the command line in front of the common jobs (check, demo, run, sandbox, report)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mdp.config import PipelineConfig, load_config
from mdp.errors import MDPError

app = typer.Typer(help="Marketing Data Platform: Google Ads + Meta Ads into your warehouse, daily.")
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="pipeline.yaml to use (default: $MDP_CONFIG, ./pipeline.yaml)."),
]

NOT_BUILT = {
    "sandbox": "local Google Ads and Meta API servers (issue [2/8])",
    "ingest": "Google Ads and Meta Ads connectors and the Prefect ingest flows (issues [3/8]-[5/8])",
    "dbt": "dbt staging, intermediate and marts (issue [6/8])",
    "monitoring": "volume monitoring and the HTML report (issue [7/8])",
}


def _quiet_telemetry() -> None:
    for name, value in (
        ("DO_NOT_TRACK", "1"),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"),
    ):
        os.environ.setdefault(name, value)


def _load(config: Path | None) -> PipelineConfig:
    try:
        return load_config(config)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _today(config: PipelineConfig) -> dt.date:
    return dt.datetime.now(config.tz).date()


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the configuration and print what a run would do."""
    from connectors.registry import build_connectors

    cfg = _load(config)
    try:
        connectors = build_connectors(cfg)
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    today = _today(cfg)
    console.print(f"[bold]configuration[/] {cfg.source}: [green]valid[/]")
    console.print(
        f"  pipeline clock: {cfg.timezone} (today is {today}); reporting currency {cfg.reporting_currency}"
    )
    if cfg.warehouse.type == "duckdb":
        console.print(f"  warehouse: DuckDB file {cfg.warehouse_path()}")
    else:
        console.print(f"  warehouse: {cfg.warehouse.type} {cfg.warehouse.model_dump(exclude={'type'})}")
    alerts = cfg.alerts.slack_webhook_block
    console.print(f"  alerts: Slack block {alerts!r}" if alerts else "  alerts: none configured")
    if not connectors:
        console.print("  connectors: none enabled; a run would only rebuild the marts")
        return
    table = Table(title="a run today would extract")
    for column in ("connector", "type", "table", "accounts", "days", "chunk", "concurrency", "credentials"):
        table.add_column(column)
    for connector in connectors:
        start = today - dt.timedelta(days=max(connector.lookback_days, 1))
        end = today - dt.timedelta(days=1)
        refs = ", ".join(f"{k}={v}" for k, v in connector.settings.credentials.items()) or "-"
        accounts = connector.settings.accounts
        table.add_row(
            connector.name,
            connector.type_name,
            connector.table.name,
            ", ".join(accounts) if accounts else "discovered",
            f"{start} .. {end}",
            f"{connector.settings.chunk_days}d",
            str(connector.settings.max_concurrency),
            refs,
        )
    console.print(table)


@app.command()
def demo(config: ConfigOption = None) -> None:
    """Run the main job on the embedded defaults (DuckDB + sandbox), as far as it is built."""
    _quiet_telemetry()
    from warehouse import from_config
    from warehouse.base import LOAD_LOG

    cfg = _load(config)
    console.print(f"[bold]Marketing Data Platform demo[/] with {cfg.source}")
    wh = from_config(cfg)
    try:
        wh.ensure_ops()
        runs, units = wh.query(f"SELECT count(DISTINCT run_id), count(*) FROM {LOAD_LOG}")[0]
    except MDPError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]ok[/] warehouse ready: {wh}")
    console.print(f"[green]ok[/] {LOAD_LOG}: {units} unit(s) logged by {runs} run(s) so far")
    for step, what in NOT_BUILT.items():
        console.print(f"[yellow]not built yet[/] {step}: {what}")


@app.command()
def run(
    config: ConfigOption = None,
    start: Annotated[
        dt.datetime | None, typer.Option("--start", formats=["%Y-%m-%d"], help="First day (rerun/backfill).")
    ] = None,
    end: Annotated[
        dt.datetime | None, typer.Option("--end", formats=["%Y-%m-%d"], help="Last day (default: yesterday).")
    ] = None,
    run_date: Annotated[
        dt.datetime | None, typer.Option("--run-date", formats=["%Y-%m-%d"], help="The run's 'today'.")
    ] = None,
    lookback_days: Annotated[
        int | None, typer.Option("--lookback-days", help="Override every connector's lookback.")
    ] = None,
    connector: Annotated[
        list[str] | None, typer.Option("--connector", help="Only this connector (repeatable).")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="Only this account (repeatable).")
    ] = None,
    dbt: Annotated[bool, typer.Option("--dbt/--no-dbt", help="Rebuild the dbt models afterwards.")] = True,
    monitoring: Annotated[
        bool, typer.Option("--monitoring/--no-monitoring", help="Check volumes afterwards.")
    ] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")] = False,
) -> None:
    """Run the daily pipeline once, locally (ingest, dbt, monitoring), with live progress."""
    cfg = _load(config)
    state = _run_pipeline(
        cfg,
        verbose=verbose,
        start_date=start.date() if start else None,
        end_date=end.date() if end else None,
        run_date=run_date.date() if run_date else None,
        lookback_days=lookback_days,
        connectors=connector or None,
        accounts=account or None,
        run_dbt=dbt,
        run_monitoring=monitoring,
    )
    if not state.is_completed():
        raise typer.Exit(1)


def _run_pipeline(cfg: PipelineConfig, *, verbose: bool, **parameters: Any) -> Any:
    """Run `daily_pipeline` in this process with a Rich progress bar per connector; print the outcome."""
    _quiet_telemetry()
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows import progress
    from flows.daily import daily_pipeline

    rows: dict[str, int] = {}
    failed: dict[str, int] = {}
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:>10,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        ids: dict[str, Any] = {}

        def on_event(event: progress.ProgressEvent) -> None:
            if event.connector not in ids:
                ids[event.connector] = bar.add_task(event.connector, total=None, rows=0)
            if event.kind == "planned":
                bar.update(ids[event.connector], total=event.units)
            else:
                rows[event.connector] = rows.get(event.connector, 0) + event.rows
                failed[event.connector] = failed.get(event.connector, 0) + int(event.failed)
                bar.update(ids[event.connector], advance=1, rows=rows[event.connector])

        unsubscribe = progress.subscribe(on_event)
        try:
            call: Any = daily_pipeline(config_path=str(cfg.source), return_state=True, **parameters)
            state: Any = asyncio.run(call)
        finally:
            unsubscribe()
    if state.is_completed():
        summary = state.result()
        steps = ", ".join(f"{k}: {v}" for k, v in summary.steps.items()) or "none"
        console.print(
            f"[green]run {summary.run_id} completed[/]: {sum(rows.values()):,} rows loaded; steps {steps}"
        )
    else:
        err_console.print(f"[bold red]run failed:[/] {state.message}", highlight=False)
    return state


def main() -> None:
    app()


if __name__ == "__main__":
    main()
