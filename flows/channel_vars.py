"""The dbt vars that put every registered connector type (built-ins and `mdp.connectors` plug-ins) into the
cross-channel unions, built from each connector class's `dbt_models` and `dbt_field_overrides`; and the
vars a run passes (`project_vars`), without Prefect (`mdp check` and `mdp dbt-vars` use them)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from connectors.base import Connector
from connectors.registry import BUILT_IN, available_types, connector_class
from mdp.config import BigQueryWarehouseConfig, PipelineConfig
from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR

AD_PERFORMANCE = "ad_performance"
META_CONNECTOR_TYPE = "meta_ads"
# The reports and snapshot unions (dbt var report_channels), in the order the models use them.
REPORT_UNIONS = (
    "keyword",
    "search_term",
    "country",
    "region",
    "device",
    "platform",
    "age_gender",
    "conversion_action",
    "account_totals",
    "campaign_snapshot",
    "ad_group_snapshot",
    "ad_snapshot",
)
UNIONS = (AD_PERFORMANCE, *REPORT_UNIONS)
# The dbt vars this module owns; every other var keeps its dbt_project.yml default unless the flow sets it.
CHANNEL_VARS = ("ad_performance_channels", "report_channels", "channel_field_overrides")


def model_names(project_dir: Path = TRANSFORMATIONS_DIR) -> set[str]:
    """The names of the dbt project's models (every .sql/.py file under its model-paths)."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for folder in project.get("model-paths", ["models"]):
        for path in (project_dir / folder).rglob("*"):
            if path.suffix in (".sql", ".py") and path.is_file():
                names.add(path.stem)
    return names


def check_dbt_mapping(type_name: str, cls: type[Connector], models: set[str]) -> None:
    """Every key of the class's dbt mappings is a known union and every model exists, in one-line errors."""
    where = f"connector type {type_name!r} ({cls.__module__}.{cls.__qualname__})"
    if cls.type_name != type_name:
        raise ConfigError(f"{where}: type_name is {cls.type_name!r}; the channel must be the registered type")
    if AD_PERFORMANCE not in cls.dbt_models:
        raise ConfigError(
            f"{where}: dbt_models has no {AD_PERFORMANCE!r} key (its ad performance staging model), "
            "so its rows would never reach the marts"
        )
    for union, model in cls.dbt_models.items():
        if union not in UNIONS:
            close = difflib.get_close_matches(union, UNIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: dbt_models[{union!r}]: unknown union{hint}; unions: {', '.join(UNIONS)}")
        if model not in models:
            close = difflib.get_close_matches(model, sorted(models), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: dbt_models[{union!r}]: no dbt model named {model!r}{hint}")
    for union, fields in cls.dbt_field_overrides.items():
        if union not in cls.dbt_models:
            raise ConfigError(
                f"{where}: dbt_field_overrides[{union!r}]: the connector has no model for that union "
                f"(its dbt_models keys: {', '.join(cls.dbt_models)})"
            )
        for field, sql in fields.items():
            if not (isinstance(sql, str) and sql.strip()):
                raise ConfigError(
                    f"{where}: dbt_field_overrides[{union!r}][{field!r}]: the SQL must be a non-empty string"
                )


def channel_vars(types: Iterable[str] | None = None, project_dir: Path = TRANSFORMATIONS_DIR) -> dict[str, Any]:
    """`ad_performance_channels`, `report_channels` and `channel_field_overrides` for the given connector
    types (default: every registered type). The channel is the connector type.

    Raises:
        ConfigError: a connector's `dbt_models` names an unknown union or a model the project lacks.
    """
    models = model_names(project_dir)
    ad_performance: dict[str, str] = {}
    reports: dict[str, dict[str, str]] = {union: {} for union in REPORT_UNIONS}
    overrides: dict[str, dict[str, dict[str, str]]] = {}
    for type_name in available_types() if types is None else types:
        cls = connector_class(type_name)
        check_dbt_mapping(type_name, cls, models)
        for union, model in cls.dbt_models.items():
            (ad_performance if union == AD_PERFORMANCE else reports[union])[type_name] = model
        for union, fields in cls.dbt_field_overrides.items():
            overrides.setdefault(union, {})[type_name] = dict(fields)
    return {
        "ad_performance_channels": ad_performance,
        "report_channels": reports,
        "channel_field_overrides": {union: overrides[union] for union in UNIONS if union in overrides},
    }


def built_in_channel_vars() -> dict[str, Any]:
    """The channel vars of the built-in connectors alone: the defaults dbt_project.yml keeps for a plain
    `dbt build` (checked by transformations/scripts/generate_channel_vars.py --check)."""
    return channel_vars(BUILT_IN)


def project_vars(config: PipelineConfig, project_dir: Path = TRANSFORMATIONS_DIR) -> dict[str, Any]:
    """The dbt vars of a run: the channels of every registered connector type (built-ins and plug-ins,
    `channel_vars`), and what the configuration implies: reporting currency, reconciliation tolerances,
    dataset prefix, Meta conversion types.

    Raises:
        ConfigError: a connector's dbt mapping names an unknown union or model; enabled Meta connectors
            configure different conversion action types (the dbt var is global).
    """
    result: dict[str, Any] = {
        **channel_vars(project_dir=project_dir),
        "reporting_currency": config.reporting_currency,
        "reconciliation_tolerances": config.reconciliation.tolerances(),
    }
    if isinstance(config.warehouse, BigQueryWarehouseConfig):
        result["dataset_prefix"] = config.warehouse.dataset_prefix
    meta_types = {
        tuple(types)
        for section in config.enabled_connectors()
        if section.type == META_CONNECTOR_TYPE
        and (types := section.options().get("conversion_action_types")) is not None
    }
    if len(meta_types) > 1:
        raise ConfigError(
            "connectors[*].conversion_action_types: enabled meta_ads connectors list different action "
            f"types {sorted(meta_types)}; the marts count conversions one way, so make them equal"
        )
    if meta_types:
        result["meta_conversion_action_types"] = list(meta_types.pop())
    return result
