"""Forecast step cost: the `forecast_pacing` step against a daily run at N accounts per channel (issue [5/7]:
under 10% of a daily run, cold start included).

One sandbox serves every channel; one running `prefect server` (as deployments run). A history load fills the
marts (`daily_pipeline` over `days` days, dbt on, forecast off); then two scheduled daily runs (each connector's
own lookback, dbt on): forecast off (the baseline) and on (the step inside the flow, its statsforecast import
warmed up during ingest). Then the step alone, `run_forecast(config, run_id)` in a fresh Python process per
variant of `forecast.history_days` x `forecast.grains` (cold: interpreter, Prefect and statsforecast imports
included), timed inside and outside the process."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import QUIET_ENV, Section, load_average, machine_load, table
from benchmarks.e2e import (
    CELL_TIMEOUT_SECONDS,
    META_POLL_SECONDS,
    _free_port,
    _migrate,
    _prefect_env,
)

logger = logging.getLogger(__name__)

COST_TARGET = 0.10  # the forecast step (cold) under 10% of a daily run
ALL_GRAINS = ("channel", "account", "campaign")
SMOKE_VARIANTS: tuple[tuple[int, tuple[str, ...]], ...] = ((28, ALL_GRAINS),)


def variants_of(history_days: Sequence[int]) -> list[tuple[int, tuple[str, ...]]]:
    """Every grain, then channel and account only, for each `forecast.history_days` (the first: the verdict's)."""
    return [(h, grains) for grains in (ALL_GRAINS, ("channel", "account")) for h in history_days]


DEFAULT_VARIANTS = variants_of((56, 120))  # 56: the default of `forecast.history_days`


def run(
    accounts: int,
    days: int,
    workdir: Path | None = None,
    variants: Sequence[tuple[int, tuple[str, ...]]] = DEFAULT_VARIANTS,
    *,
    smoke: bool = False,
) -> Section:
    """Load `days` days of history at `accounts` per channel, time the daily runs, then each forecast variant."""
    from deployments.local import start_server, stop_process_group
    from sandbox import SandboxConfig, start_sandbox
    from sandbox.runner import SANDBOX_SECRETS
    from sandbox.tls import GRPC_ROOTS_ENV

    today = dt.datetime.now(dt.UTC).date()
    runs: dict[str, dict[str, Any]] = {}
    steps: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mdp-bench-forecast-cost-", dir=workdir) as tmp,
        machine_load() as load,
    ):
        directory = Path(tmp)
        prefect_home = directory / "prefect"
        _migrate(prefect_home)
        server, api_url = start_server(_free_port(), directory / "logs", prefect_home)
        try:
            with start_sandbox(
                SandboxConfig(
                    google_accounts=accounts,
                    meta_accounts=accounts,
                    microsoft_accounts=accounts,
                    tiktok_accounts=accounts,
                    linkedin_accounts=accounts,
                    as_of=today,
                )
            ) as handle:
                base = handle.pipeline_fragment()
                for section in base["connectors"]:
                    if section["type"] == "meta_ads":
                        section["poll_initial_seconds"] = META_POLL_SECONDS
                base.update(
                    timezone="UTC",
                    reporting_currency="EUR",
                    warehouse={"type": "duckdb", "path": str(directory / "warehouse.duckdb")},
                )
                env = {
                    **os.environ,
                    **_prefect_env(prefect_home),
                    **SANDBOX_SECRETS,
                    GRPC_ROOTS_ENV: str(handle.ca_bundle),
                    "PYTHONUNBUFFERED": "1",
                    "PREFECT_API_URL": api_url,
                }
                config_path = _write_config(directory / "pipeline.yaml", base, None)
                start, end = today - dt.timedelta(days=days), today - dt.timedelta(days=1)
                history = {"start": start.isoformat(), "end": end.isoformat(), "run_forecast": False}
                plan: list[tuple[str, dict[str, Any]]] = [
                    ("history load", history),
                    ("daily run, forecast off", {"run_forecast": False}),
                    ("daily run, forecast on", {"run_forecast": True}),
                ]
                if smoke:  # one run with dbt, standing in for the daily run: the code paths, not the figures
                    plan = [("daily run, forecast off", history)]
                for label, cell in plan:
                    runs[label] = _flow_run(label, cell | {"config": str(config_path), "run_dbt": True}, directory, env)
            for history_days, grains in variants:
                path = _write_config(
                    directory / f"pipeline-{history_days}-{'-'.join(grains)}.yaml", base, (history_days, grains)
                )
                steps.append(_forecast_alone(path, directory, env) | {"history_days": history_days, "grains": grains})
        finally:
            stop_process_group(server)
    data = summarise(accounts, days, runs, steps, smoke=smoke)
    data["machine_load"] = load.as_dict()
    return Section("Forecast cost", _markdown(data), data)


def _write_config(path: Path, base: dict[str, Any], forecast: tuple[int, tuple[str, ...]] | None) -> Path:
    config = dict(base)
    if forecast is not None:
        history_days, grains = forecast
        config["forecast"] = {"history_days": history_days, "grains": list(grains)}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _flow_run(label: str, cell: dict[str, Any], directory: Path, env: dict[str, str]) -> dict[str, Any]:
    """One `daily_pipeline` in a fresh process (benchmarks.e2e's cell: wall time, rows, each step's seconds)."""
    slug = label.replace(" ", "-").replace(",", "")
    out = directory / f"{slug}.json"
    logger.info("forecast cost: %s", label)
    with (directory / f"{slug}.log").open("w", encoding="utf-8") as log:
        completed = subprocess.run(
            [sys.executable, "-m", "benchmarks.e2e", "--cell", json.dumps(cell | {"out": str(out)})],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=CELL_TIMEOUT_SECONDS,
            check=False,
        )
    if completed.returncode != 0 or not out.exists():
        tail = (directory / f"{slug}.log").read_text(encoding="utf-8")[-3000:]
        raise RuntimeError(f"forecast cost: {label} failed (exit {completed.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    logger.info(
        "forecast cost: %s %.1fs wall, %d rows, steps %s",
        label,
        result["wall_seconds"],
        result["rows"],
        {k: round(v, 1) for k, v in result["step_seconds"].items()},
    )
    return result


def _forecast_alone(config_path: Path, directory: Path, env: dict[str, str]) -> dict[str, Any]:
    """`run_forecast` in a fresh Python process: wall time outside (spawn to exit) and the phases inside."""
    out = directory / f"{config_path.stem}-forecast.json"
    began = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.forecast_cost",
            "--step",
            json.dumps({"config": str(config_path), "out": str(out)}),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=CELL_TIMEOUT_SECONDS,
        check=False,
    )
    outside = time.perf_counter() - began
    if completed.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"forecast cost: {config_path.name} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["outside_seconds"] = outside
    logger.info(
        "forecast cost: %s alone %.1fs outside, %.1fs run_forecast, %d series fitted",
        config_path.stem,
        outside,
        result["run_forecast_seconds"],
        result["fitted_series"],
    )
    return result


def _step_main(step: dict[str, Any]) -> None:
    """Inside the fresh process: import statsforecast, then the flow module, then run the step, each timed."""
    began = time.perf_counter()
    logging.basicConfig(level=logging.WARNING)
    import statsforecast.models  # noqa: F401  # the cold import the step pays (statsmodels included)

    statsforecast_seconds = time.perf_counter() - began
    mark = time.perf_counter()
    from flows.forecast import run_forecast
    from mdp.config import load_config

    module_seconds = time.perf_counter() - mark
    config = load_config(step["config"])
    mark = time.perf_counter()
    result = run_forecast(config, f"bench-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}")
    run_seconds = time.perf_counter() - mark
    forecast_grains = result.series - result.insufficient - result.paused
    metrics = 3  # spend, conversions, conversion value: one statsforecast series each per grain
    Path(step["out"]).write_text(
        json.dumps(
            {
                "statsforecast_import_seconds": statsforecast_seconds,
                "module_import_seconds": module_seconds,
                "run_forecast_seconds": run_seconds,
                "inside_seconds": time.perf_counter() - began,
                "grains": result.series,
                "insufficient": result.insufficient,
                "paused": result.paused,
                "fitted_series": forecast_grains * metrics,
                "pacing_rows": result.pacing_rows,
                "as_of": result.as_of.isoformat() if result.as_of else None,
            }
        ),
        encoding="utf-8",
    )


def summarise(
    accounts: int, days: int, runs: dict[str, dict[str, Any]], steps: list[dict[str, Any]], *, smoke: bool
) -> dict[str, Any]:
    """The verdict: the default variant's cold step (outside wall) over the daily run without it, and as a
    share of a daily run that includes it (as the reconciliation cost is computed)."""
    off = runs["daily run, forecast off"]["wall_seconds"]
    on = runs.get("daily run, forecast on", {"wall_seconds": float("nan"), "step_seconds": {}})
    cold = steps[0]["outside_seconds"] if steps else float("nan")
    share = cold / (off + cold) if off + cold > 0 else float("nan")
    for s in steps:
        s["share_of_daily_run"] = s["outside_seconds"] / (off + s["outside_seconds"])
        s["ms_per_series"] = 1000 * s["run_forecast_seconds"] / s["fitted_series"] if s["fitted_series"] else None
        s["verdict"] = "smoke" if smoke else "met" if s["share_of_daily_run"] < COST_TARGET else "NOT met"
    verdict = "not measured (smoke)" if smoke else "met" if share < COST_TARGET else "NOT met"
    return {
        "accounts_per_channel": accounts,
        "history_days_loaded": days,
        "runs": runs,
        "steps": steps,
        "daily_off_seconds": off,
        "daily_on_seconds": on["wall_seconds"],
        "in_flow_forecast_seconds": on["step_seconds"].get("forecast"),
        "cold_forecast_seconds": cold,
        "share": share,
        "ratio_to_run_without": cold / off if off > 0 else float("nan"),
        "target": COST_TARGET,
        "verdict": verdict,
        "load_average_end": load_average(),
    }


def _markdown(data: dict[str, Any]) -> str:
    runs = data["runs"]
    run_rows = []
    order = ("history load", "daily run, forecast off", "daily run, forecast on")
    for label, r in sorted(runs.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)):
        s = r["step_seconds"]
        run_rows.append(
            [
                label,
                r["units"],
                f"{r['rows']:,}",
                f"{r['wall_seconds']:.1f}",
                f"{r['wall_seconds'] - sum(s.values()):.1f}",
                f"{s.get('dbt', 0.0):.1f}",
                f"{s['forecast']:.1f}" if "forecast" in s else "-",
            ]
        )
    step_rows = [
        [
            s["history_days"],
            ", ".join(s["grains"]),
            f"{s['fitted_series']:,} ({s['insufficient']} insufficient, {s['paused']} paused grains)",
            f"{s['outside_seconds']:.1f}",
            f"{s['statsforecast_import_seconds']:.1f} / {s['module_import_seconds']:.1f} / "
            f"{s['run_forecast_seconds']:.1f}",
            f"{s['ms_per_series']:.1f}" if s["ms_per_series"] is not None else "n/a",
            f"{100 * s['share_of_daily_run']:.1f}%",
            f"**{s['verdict']}**" if s["verdict"] != "met" else "met",
        ]
        for s in data["steps"]
    ]
    load = data["machine_load"]
    before = load["load_average_before"]
    in_flow = data["in_flow_forecast_seconds"]
    on = data["daily_on_seconds"]
    return "\n".join(
        [
            f"{data['accounts_per_channel']} accounts per channel x 5 channels (every default stream), "
            f"{data['history_days_loaded']} days of history loaded first.",
            "",
            table(["run", "units", "rows", "wall s", "ingest + overhead s", "dbt s", "forecast step s"], run_rows),
            "",
            table(
                [
                    "history_days",
                    "grains",
                    "series fitted (3 metrics per grain)",
                    "cold step s (process wall)",
                    "inside s: import statsforecast / import flow / run_forecast",
                    "ms per series (run_forecast, reads and writes included)",
                    "share of a daily run",
                    "verdict (< 10%)",
                ],
                step_rows,
            ),
            "",
            f"Daily run without the step {data['daily_off_seconds']:.1f} s; the step alone, cold, first variant "
            f"({data['steps'][0]['history_days']} days, every grain) {data['cold_forecast_seconds']:.1f} s: "
            f"{100 * data['share']:.1f}% of a daily run that includes it ({100 * data['ratio_to_run_without']:.1f}% "
            f"of the run without it); target < {100 * data['target']:.0f}%: **{data['verdict']}**. "
            + (
                f"Inside the flow (statsforecast imported during ingest by the warm-up) the step took "
                f"{in_flow:.1f} s of a {on:.1f} s run ({100 * in_flow / on:.1f}%). "
                if in_flow is not None
                else ""
            )
            + (
                f"Only {data['history_days_loaded']} days were loaded: a `history_days` above that reads the same "
                f"{data['history_days_loaded']} days. "
                if any(s["history_days"] > data["history_days_loaded"] for s in data["steps"])
                else ""
            )
            + "Share of a daily run: cold step / (daily run without it + cold step). Each flow run and each step "
            "alone is a fresh process against one running `prefect server`; the daily runs read each connector's own "
            "lookback (14-30 days) and run dbt incrementally on the loaded history. "
            f"Machine: 2 shared cores, load average {_load(before)} before, {_load(load['load_average_after'])} after; "
            f"other processes used {load['other_processes_cores']:.2f} cores on average over the "
            f"{load['wall_seconds']:.0f} s benchmark (**loaded**: every figure is slower than on an idle machine).",
        ]
    )


def _load(values: Sequence[float] | None) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.forecast_cost", description="the forecast step alone (internal)"
    )
    p.add_argument("--step", required=True, help="JSON: config, out")
    args = p.parse_args(argv)
    os.environ.update({k: v for k, v in QUIET_ENV.items() if k not in os.environ})
    _step_main(json.loads(args.step))
    return 0


if __name__ == "__main__":
    sys.exit(main())
