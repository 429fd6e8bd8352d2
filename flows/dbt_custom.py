"""What the configuration adds to the dbt project: a staging view per custom stream and the passthrough metrics.

`pipeline.yaml` may declare custom streams (Google `custom_queries`, Meta `custom_insights`, Microsoft
`custom_reports`) and passthrough `metrics:`. Both depend on the configuration, not on the repository, so they
are generated before every dbt invocation into the package `mdp_custom` under transformations/dbt_packages/
(where dbt loads every package, like the plug-ins' packages of flows/dbt_channels.py):

- one source per channel (`<channel>_custom`) listing its custom raw tables, and per custom stream a staging
  view `stg_<channel>__custom_<name>` (date -> date_day, a `channel` column, every declared column; documented;
  not_null and unique tests on its key), built from the stream's declared columns: no hand-written SQL;
- the macro `passthrough_metrics()`: each metric with its kind, additivity and, per channel, the raw `pt_`
  columns it sums. The root project's macros carry them from staging to fct_ad_performance_daily and the marts
  built on it (macros/passthrough.sql).

The enforced contracts of those marts must list the passthrough columns: the marts' properties live in
transformations/mart_properties/ (a model path named by the env var MDP_MART_PROPERTIES, that folder by
default); with metrics configured a copy with the metrics' columns is written to generated/mart_properties/
and the dbt invocation points the env var at it. Files are rewritten only when they change, so dbt's partial
parse stays valid from run to run; a configuration change re-parses what it touches.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from connectors.base import Connector
from connectors.kit.custom import CustomColumn, CustomStream
from connectors.registry import build_connectors
from mdp.config import MetricConfig, PipelineConfig
from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR
from mdp.schema import LOADED_AT, TableSpec

PACKAGE = "mdp_custom"
PACKAGES_DIR = "dbt_packages"
PROPERTIES_ENV = "MDP_MART_PROPERTIES"
COMMITTED_PROPERTIES = Path("mart_properties")
GENERATED_PROPERTIES = Path("generated") / "mart_properties"
# The marts that carry passthrough metrics: the fact at its own grain, every metric; the marts summed from it,
# the additive ones.
FACT = "fct_ad_performance_daily"
FACT_GRAIN = (FACT, "ad_report")  # one row per ad and day: every metric, as the platform reports it
MIXED_ACCOUNTS = ("mart_channel_performance_daily", "mart_global_performance_daily")  # money: reporting only
SUMMED_MARTS = (
    "mart_campaign_performance_daily",
    "account_report",
    "campaign_report",
    "ad_group_report",
    "url_report",
    *MIXED_ACCOUNTS,
)
KIND_OF_METRIC = {"integer": "integer", "number": "float", "money": "money"}
HEADER = "# Written by flows/dbt_custom.py from {source}: do not edit; it is rewritten before every dbt run.\n"


@dataclass(frozen=True)
class CustomModel:
    """A custom stream of a channel and the staging view generated for it."""

    channel: str
    stream: CustomStream

    @property
    def model(self) -> str:
        return f"stg_{self.channel}__{self.stream.name}"

    @property
    def source(self) -> str:
        return f"{self.channel}_custom"


@dataclass(frozen=True)
class CustomDbt:
    """What a configuration adds to the dbt project: its custom staging models, its metrics, the raw tables
    they read (to create before dbt runs) and the env a dbt invocation needs."""

    models: tuple[CustomModel, ...]
    metrics: tuple[MetricConfig, ...]
    raw_tables: tuple[TableSpec, ...]

    @property
    def env(self) -> dict[str, str]:
        folder = GENERATED_PROPERTIES if self.metrics else COMMITTED_PROPERTIES
        return {PROPERTIES_ENV: str(folder)}


def custom_dbt(config: PipelineConfig, connectors: Iterable[Connector] | None = None) -> CustomDbt:
    """The custom streams of the enabled connectors (one staging model per raw table: two sections of a type
    declaring the same custom stream must declare the same columns) and the configured metrics.

    Raises:
        ConfigError: a section's custom stream or metric is invalid; two sections declare one table differently.
    """
    built = list(connectors) if connectors is not None else build_connectors(config)
    models: dict[str, CustomModel] = {}
    raw: dict[str, TableSpec] = {}
    for connector in built:
        for stream in connector.streams:
            if stream is not connector.streams[0] and not isinstance(stream, CustomStream):
                continue
            raw[stream.table.name] = stream.table  # the primary table with its passthrough columns
            if not isinstance(stream, CustomStream):
                continue
            seen = models.get(stream.table.name)
            if seen is not None and seen.stream.table.schema != stream.table.schema:
                raise ConfigError(
                    f"invalid configuration: connectors.{connector.name}: custom stream {stream.name!r} lands in "
                    f"{stream.table.name} like another {connector.type_name} connector's, with other columns; "
                    "give it another name"
                )
            models[stream.table.name] = CustomModel(connector.type_name, stream)
    return CustomDbt(tuple(models.values()), tuple(config.metrics), tuple(raw.values()))


def _kind(column: CustomColumn) -> str:
    if column.money:
        return "money"
    data_type = column.type
    if pa.types.is_integer(data_type):
        return "integer"
    if pa.types.is_floating(data_type):
        return "float"
    if pa.types.is_decimal(data_type):
        return "money"
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_date(data_type):
        return "date"
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    return "string"


def staging_sql(custom: CustomModel, source: str) -> str:
    lines = [
        f"{{#- Generated by flows/dbt_custom.py from {source}: the custom stream {custom.stream.name} of "
        f"{custom.channel}. -#}}",
        "",
        "with",
        "",
        "source as (",
        "",
        f"    select * from {{{{ source('{custom.source}', '{custom.stream.table.table_name}') }}}}",
        "",
        "),",
        "",
        "renamed as (",
        "",
        "    select",
        "        {{ mdp_cast('date', 'date') }} as date_day,",
        f"        '{custom.channel}' as channel,",
        "        {{ mdp_cast('account_id', 'string') }} as account_id,",
        "        {{ mdp_cast('account_currency', 'string') }} as account_currency,",
    ]
    for column in custom.stream.columns:
        quoted = f"adapter.quote('{column.name}')"  # a column_name: [a-z0-9_] only, quoted for reserved words
        lines.append(f"        {{{{ mdp_cast({quoted}, '{_kind(column)}') }}}} as {{{{ {quoted} }}}},")
    lines += [
        f"        {LOADED_AT}",
        "",
        "    from source",
        "",
        ")",
        "",
        "select * from renamed",
        "",
    ]
    return "\n".join(lines)


def _column_doc(column: CustomColumn) -> str:
    kind = "dimension (part of the key)" if column.role == "dimension" else "metric"
    extra = "" if column.additive else "; not additive: never sum it over days or entities"
    money = "; an amount in the account currency" if column.money else ""
    return f"{column.doc or column.source}: {kind}{money}{extra}. From the platform field `{column.source}`."


def staging_yml(custom: CustomModel, source: str) -> dict[str, Any]:
    key = ["date_day", "account_id", *(c.name for c in custom.stream.columns if c.role == "dimension")]
    kind = "snapshot (the entities' state on the snapshot day)" if custom.stream.kind == "snapshot" else "daily"
    columns: list[dict[str, Any]] = [
        {
            "name": "date_day",
            "description": "The day the row reports (the snapshot day for a snapshot stream).",
            "data_tests": ["not_null"],
        },
        {"name": "channel", "description": "The channel (connector type).", "data_tests": ["not_null"]},
        {"name": "account_id", "description": "The platform's ad account id.", "data_tests": ["not_null"]},
        {"name": "account_currency", "description": "The account's currency (ISO 4217) for the money columns."},
    ]
    columns += [{"name": c.name, "description": _column_doc(c)} for c in custom.stream.columns]
    columns.append({"name": LOADED_AT, "description": "When the row was loaded into the warehouse (UTC)."})
    return {
        "name": custom.model,
        "description": (
            f"Custom stream `{custom.stream.name}` of {custom.channel} ({kind}), declared in {source}; "
            f"one row per {', '.join(key)}. {custom.stream.table.description}".strip()
        ),
        "data_tests": [{"unique_combination_of_columns": {"arguments": {"combination_of_columns": key}}}],
        "columns": columns,
    }


def sources_yml(models: Iterable[CustomModel]) -> dict[str, Any]:
    by_channel: dict[str, list[CustomModel]] = {}
    for custom in models:
        by_channel.setdefault(custom.channel, []).append(custom)
    return {
        "version": 2,
        "sources": [
            {
                "name": f"{channel}_custom",
                "description": f"The custom streams of the {channel} connectors (pipeline.yaml).",
                "schema": "{{ var('dataset_prefix', '') }}" + items[0].stream.table.schema_name,
                "tables": [
                    {
                        "name": c.stream.table.table_name,
                        "description": c.stream.table.description or f"custom stream {c.stream.name}",
                        "columns": [
                            {"name": f.name, "description": c.stream.table.column_docs.get(f.name, "")}
                            for f in c.stream.table.schema
                        ],
                    }
                    for c in items
                ],
            }
            for channel, items in sorted(by_channel.items())
        ],
    }


def metric_definitions(metrics: Iterable[MetricConfig]) -> list[dict[str, Any]]:
    """What macro passthrough_metrics() returns: each metric's column, kind (mdp_type), additivity,
    description and, per channel, the raw columns it sums (`pt_<field>`, as connectors.kit.custom names them)."""
    from connectors.kit.custom import PASSTHROUGH_PREFIX, column_name

    result = []
    for metric in metrics:
        result.append(
            {
                "name": metric.name,
                "kind": KIND_OF_METRIC[metric.kind],
                "additive": metric.additive,
                "description": metric.description or f"passthrough metric {metric.name}",
                "sources": {
                    channel: [PASSTHROUGH_PREFIX + column_name(field) for field in fields]
                    for channel, fields in sorted(metric.sources.items())
                },
            }
        )
    return result


def package_files(custom: CustomDbt, source: str) -> dict[Path, str]:
    """The files of the package `mdp_custom` (paths relative to it)."""
    header = HEADER.format(source=source)
    files: dict[Path, str] = {
        Path("dbt_project.yml"): header
        + yaml.safe_dump(
            {
                "name": PACKAGE,
                "version": "1.0.0",
                "config-version": 2,
                "model-paths": ["models"],
                "macro-paths": ["macros"],
                "models": {PACKAGE: {"+schema": "staging", "+materialized": "view"}},
            },
            sort_keys=False,
        ),
        Path("macros") / "passthrough_metrics.sql": (
            f"{{#- Written by flows/dbt_custom.py from {source}: the passthrough metrics. -#}}\n"
            "{% macro passthrough_metrics() -%}\n"
            f"    {{{{ return({json.dumps(metric_definitions(custom.metrics), sort_keys=True)}) }}}}\n"
            "{%- endmacro %}\n"
        ),
    }
    if custom.models:
        files[Path("models") / "_sources.yml"] = header + yaml.safe_dump(
            sources_yml(custom.models), sort_keys=False, width=110
        )
    for model in custom.models:
        folder = Path("models") / model.channel
        files[folder / f"{model.model}.sql"] = staging_sql(model, source)
        files[folder / f"{model.model}.yml"] = header + yaml.safe_dump(
            {"version": 2, "models": [staging_yml(model, source)]}, sort_keys=False, width=110
        )
    return files


def _metric_columns(metrics: Iterable[MetricConfig], model: str) -> list[dict[str, Any]]:
    """The contract columns a mart gets for the metrics: at the fact's grain every metric; in a summed mart the
    additive ones; money in the account currency (not where a group mixes accounts) and in the reporting one."""
    at_fact_grain = model in FACT_GRAIN
    columns: list[dict[str, Any]] = []
    for metric in metrics:
        if not (at_fact_grain or metric.additive):
            continue
        kind = KIND_OF_METRIC[metric.kind]
        data_type = "{{ var('column_types')[target.type]['" + kind + "'] }}"
        doc = f"{metric.description or 'Passthrough metric ' + metric.name} (from {', '.join(sorted(metric.sources))}"
        doc += "; null for the other channels)"
        grain = "" if metric.additive else ". Not additive: at this grain only, never summed"
        if kind != "money" or model not in MIXED_ACCOUNTS:
            currency = ", in the account currency" if kind == "money" else ""
            columns.append({"name": metric.name, "data_type": data_type, "description": f"{doc}{currency}{grain}."})
        if kind == "money":
            columns.append(
                {
                    "name": f"{metric.name}_reporting",
                    "data_type": data_type,
                    "description": f"{doc}, in the reporting currency{grain}.",
                }
            )
    return columns


def mart_properties(metrics: Iterable[MetricConfig], project_dir: Path, source: str) -> dict[Path, str]:
    """The marts' properties with the metrics' columns appended to the marts that carry them (paths relative to
    the properties folder)."""
    metrics = list(metrics)
    committed = project_dir / COMMITTED_PROPERTIES
    files: dict[Path, str] = {}
    for path in sorted(committed.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for model in document.get("models", []):
            if model["name"] in FACT_GRAIN or model["name"] in SUMMED_MARTS:
                model["columns"] = [*model.get("columns", []), *_metric_columns(metrics, model["name"])]
        files[path.relative_to(committed)] = HEADER.format(source=source) + yaml.safe_dump(
            document, sort_keys=False, width=110, allow_unicode=True
        )
    return files


def _sync(folder: Path, files: dict[Path, str]) -> bool:
    """Make `folder` hold exactly `files`; write only what differs. True when something changed."""
    changed = False
    for relative, text in files.items():
        path = folder / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed = True
    if folder.is_dir():
        wanted = {folder / relative for relative in files}
        for path in sorted(folder.rglob("*"), reverse=True):
            if path.is_file() and path not in wanted:
                path.unlink()
                changed = True
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    return changed


def write_custom_package(
    config: PipelineConfig, project_dir: Path = TRANSFORMATIONS_DIR, custom: CustomDbt | None = None
) -> CustomDbt:
    """Write (or remove) the package `mdp_custom` and the marts' generated properties for `config`.

    Raises:
        ConfigError: as custom_dbt.
    """
    custom = custom if custom is not None else custom_dbt(config)
    source = config.source.name if config.source else "the configuration"
    package = project_dir / PACKAGES_DIR / PACKAGE
    if custom.models or custom.metrics:
        _sync(package, package_files(custom, source))
    elif package.exists():
        shutil.rmtree(package)
    generated = project_dir / GENERATED_PROPERTIES
    if custom.metrics:
        _sync(generated, mart_properties(custom.metrics, project_dir, source))
    elif generated.exists():
        shutil.rmtree(generated)
    return custom
