"""`python -m benchmarks [loader|e2e|dbt|reconciliation|forecast|forecast_cost|scale|all]`: run benchmarks, write
docs/benchmarks.md (`all` leaves `scale` out: its full sizes take most of an hour)."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import DOCS_PATH, RESULTS_PATH, Section, quiet_environment, write_document

logger = logging.getLogger("benchmarks")

SMOKE = {"sizes": [2_000], "repeats": 1, "accounts": [1], "days": [2], "dbt_sizes": [5_000], "origins": 2}
QUICK = {"sizes": [100_000], "repeats": 3, "accounts": [5], "days": [7, 90], "dbt_sizes": [100_000], "origins": 4}
FULL = {
    "sizes": [100_000, 1_000_000],
    "repeats": 3,
    "accounts": [5, 50],
    "days": [7, 90],
    "dbt_sizes": [1_000_000],
    "origins": 8,
}
# forecast_cost: accounts per channel, days of history loaded first
COST = {"smoke": (1, 35), "quick": (20, 56), "full": (200, 56)}
BENCHMARKS = ["loader", "e2e", "dbt", "reconciliation", "forecast", "forecast_cost"]
ON_DEMAND = ["scale"]  # named only: not part of `all`


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("benchmark", nargs="?", default="all", choices=[*BENCHMARKS, *ON_DEMAND, "all"])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes (minutes)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes (seconds), to check the code runs")
    p.add_argument("--sizes", type=float, nargs="+", help="loader row counts, e.g. 1e5 1e6 1e7")
    p.add_argument("--repeats", type=int, help="loader rounds, each timing every method once (median per method; >= 3)")
    p.add_argument("--methods", nargs="+", help="loader methods (default: all but dlt's insert_values path)")
    p.add_argument("--max-dict-rows", type=float, default=1e6, help="largest size for the Python-dict paths")
    p.add_argument("--accounts", type=int, nargs="+", help="e2e accounts per channel, e.g. 5 50 200")
    p.add_argument("--days", type=int, nargs="+", help="e2e days per run, e.g. 7 90 365")
    p.add_argument(
        "--server",
        choices=["persistent", "temporary"],
        default="persistent",
        help="e2e: one running `prefect server` for every cell (as deployments run) or a temporary one per cell",
    )
    p.add_argument("--dbt-sizes", type=float, nargs="+", help="dbt fact rows, e.g. 1e6 1e7")
    p.add_argument(
        "--forecast-accounts",
        type=int,
        help="forecast backtest: sandbox accounts per channel (default 3; 1 with --smoke)",
    )
    p.add_argument("--forecast-origins", type=int, help="forecast backtest: rolling origins, 7 days apart (default 8)")
    p.add_argument("--forecast-models", nargs="+", help="forecast backtest: models (default: all of flows.forecasting)")
    p.add_argument(
        "--cost-accounts", type=int, help="forecast_cost: accounts per channel (default 200; 1 with --smoke)"
    )
    p.add_argument("--cost-days", type=int, help="forecast_cost: days of history loaded first (default 56)")
    p.add_argument(
        "--cost-history", type=int, nargs="+", help="forecast_cost: forecast.history_days to time (default 56 120)"
    )
    p.add_argument(
        "--scale-accounts",
        type=int,
        nargs="+",
        help="scale: accounts per channel (default 200 2000 10000; 200 2000 with --quick; 2 with --smoke)",
    )
    p.add_argument(
        "--scale-modes",
        nargs="+",
        choices=["in_process", "deployments"],
        help="scale: execution modes (default both; deployments once pipeline.yaml has `execution`)",
    )
    p.add_argument(
        "--scale-channels",
        nargs="+",
        choices=["google_ads", "meta_ads", "microsoft_ads", "tiktok_ads", "linkedin_ads"],
        help="scale: connectors run (default google_ads meta_ads, each its primary stream)",
    )
    p.add_argument("--scale-workers", type=int, default=2, help="scale: process workers in deployments mode")
    p.add_argument(
        "--scale-worker-limit", type=int, default=1, help="scale: flow runs each worker runs at once (default 1)"
    )
    p.add_argument(
        "--scale-shard-accounts", type=int, help="scale: execution.shard_accounts in deployments mode (default 500)"
    )
    p.add_argument(
        "--scale-merge",
        action="store_true",
        help="scale: keep the cells of earlier runs (raw results) of the sizes and modes this run does not measure",
    )
    p.add_argument("--output", type=Path, help=f"results document (default {DOCS_PATH}; --smoke writes none)")
    p.add_argument("--workdir", type=Path, help="scratch directory for the DuckDB files (default: system temp)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("warehouse").setLevel(logging.WARNING)  # one line per load would drown the results
    quiet_environment()
    preset = SMOKE if args.smoke else QUICK if args.quick else FULL
    sizes = [int(s) for s in args.sizes] if args.sizes else preset["sizes"]
    repeats = args.repeats or preset["repeats"]
    accounts = args.accounts or preset["accounts"]
    days = args.days or preset["days"]
    dbt_sizes = [int(s) for s in args.dbt_sizes] if args.dbt_sizes else preset["dbt_sizes"]
    chosen = BENCHMARKS if args.benchmark == "all" else [args.benchmark]
    sections: list[Section] = []
    began = time.monotonic()
    if "loader" in chosen:
        from benchmarks import loader

        methods = args.methods or loader.DEFAULT_METHODS
        sections.append(loader.run(sizes, repeats, methods, int(args.max_dict_rows), args.workdir))
    if "e2e" in chosen:
        from benchmarks import e2e

        sections.append(e2e.run(accounts, days, args.workdir, server=args.server))
    if "dbt" in chosen:
        from benchmarks import dbt_bench

        sections.append(dbt_bench.run(dbt_sizes, args.workdir))
    if "reconciliation" in chosen:
        from benchmarks import e2e

        sections.append(
            e2e.run_reconciliation(
                max(accounts), max(days), 1 if args.smoke else max(2, repeats), args.workdir, smoke=args.smoke
            )
        )
    if "forecast" in chosen:
        from benchmarks import forecast_backtest

        sections.append(
            forecast_backtest.run(
                args.forecast_accounts or (1 if args.smoke else 3),
                args.forecast_models or tuple(forecast_backtest.MODELS),
                origins=args.forecast_origins or preset["origins"],
            )
        )
    if "forecast_cost" in chosen:
        from benchmarks import forecast_cost

        cost_accounts, cost_days = COST["smoke" if args.smoke else "quick" if args.quick else "full"]
        sections.append(
            forecast_cost.run(
                args.cost_accounts or cost_accounts,
                args.cost_days or cost_days,
                args.workdir,
                forecast_cost.SMOKE_VARIANTS
                if args.smoke
                else forecast_cost.variants_of(args.cost_history or [56, 120]),
                smoke=args.smoke,
            )
        )
    if "scale" in chosen:
        from benchmarks import scale

        sections.append(
            scale.run(
                args.scale_accounts or scale.SIZES["smoke" if args.smoke else "quick" if args.quick else "full"],
                args.scale_modes or scale.MODES,
                args.workdir,
                channels=args.scale_channels or tuple(scale.PRIMARY_STREAMS),
                workers=args.scale_workers,
                worker_limit=args.scale_worker_limit,
                shard_accounts=args.scale_shard_accounts or (1 if args.smoke else scale.SHARD_ACCOUNTS),
                smoke=args.smoke,
                previous=_previous_cells("Scale", args.output) if args.scale_merge else (),
            )
        )
    for section in sections:
        print(f"\n## {section.name}\n\n{section.markdown}\n")
    output = args.output if args.output or not args.smoke else None
    if output is None and not args.smoke:
        output = DOCS_PATH
    if output is not None:
        command = "python -m benchmarks " + " ".join(
            shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
        )
        raw = output.with_suffix(".json") if args.output else RESULTS_PATH
        write_document(output, sections, command.strip(), raw)
        print(f"results written to {output}")
    logger.info("benchmarks finished in %.0fs", time.monotonic() - began)
    return 0


def _previous_cells(section: str, output: Path | None) -> list[dict[str, Any]]:
    """The cells an earlier run recorded for `section` in the raw results beside the document."""
    raw_path = output.with_suffix(".json") if output else RESULTS_PATH
    if not raw_path.exists():
        return []
    raw = json.loads(raw_path.read_text(encoding="utf-8"))
    return list(raw.get(section, {}).get("cells", []))


if __name__ == "__main__":
    sys.exit(main())
