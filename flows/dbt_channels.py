"""How every registered connector type's channel reaches the cross-channel dbt unions, without vars.

Each channel conforms its staging models to a union's columns in one intermediate model per union,
`int_<channel>__<union>` (the connector class's `dbt_models`: union -> model). The channels whose models
live in the dbt project are listed in transformations/macros/channels.sql (`project_channel_models`). A
plug-in installed from outside the repository ships its staging and intermediate models as a dbt package
(`Connector.dbt_package`): `link_plugin_packages` links each registered plug-in's package into the
project's dbt_packages/ folder, where dbt loads every package, beside the small package
`mdp_plugin_channels` that names their models per union, as `dbt deps` installs packages.yml's. The flows
call it before every dbt invocation (`mdp dbt-deps` for a plain `dbt build`); nothing is rewritten when
nothing changed, so dbt's partial parse stays valid.

Also the dbt vars a run passes (`project_vars`), without Prefect (`mdp check` and `mdp dbt-vars`)."""

from __future__ import annotations

import difflib
import json
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from connectors.base import Connector
from connectors.registry import available_types, connector_class
from mdp.config import BigQueryWarehouseConfig, PipelineConfig
from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR

AD_PERFORMANCE = "ad_performance"
# The reports and snapshot unions, in the order the models use them.
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
PACKAGES_DIR = "dbt_packages"
PLUGIN_INDEX = "mdp_plugin_channels"
CHANNELS_MACRO = Path("macros") / "channels.sql"


def model_names(project_dir: Path = TRANSFORMATIONS_DIR) -> set[str]:
    """The names of a dbt project's (or package's) models: every .sql/.py file under its model-paths."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    names: set[str] = set()
    for folder in project.get("model-paths", ["models"]):
        for path in (project_dir / folder).rglob("*"):
            if path.suffix in (".sql", ".py") and path.is_file():
                names.add(path.stem)
    return names


def listed_project_models(project_dir: Path = TRANSFORMATIONS_DIR) -> set[str]:
    """The channel models transformations/macros/channels.sql lists (project_channel_models)."""
    text = (project_dir / CHANNELS_MACRO).read_text(encoding="utf-8")
    body = text.split("macro project_channel_models", 1)[1].split("endmacro", 1)[0]
    return set(re.findall(r"'(int_\w+__\w+)'", body))


def check_dbt_mapping(
    type_name: str,
    cls: type[Connector],
    project_dir: Path = TRANSFORMATIONS_DIR,
    project_models: tuple[set[str], set[str]] | None = None,
) -> Path | None:
    """The class's `dbt_models` name known unions and models that exist where the union will find them: in
    its dbt package (a plug-in's `dbt_package`), else in the project and listed in macros/channels.sql.
    `project_models`: the project's (model_names, listed_project_models) when the caller read them already.
    Returns the plug-in's dbt package, or None when its models live in the project.

    Raises:
        ConfigError: one line naming the connector type and what to fix.
    """
    where = f"connector type {type_name!r} ({cls.__module__}.{cls.__qualname__})"
    if cls.type_name != type_name:
        raise ConfigError(f"{where}: type_name is {cls.type_name!r}; the channel must be the registered type")
    if AD_PERFORMANCE not in cls.dbt_models:
        raise ConfigError(
            f"{where}: dbt_models has no {AD_PERFORMANCE!r} key (its int_{type_name}__{AD_PERFORMANCE} model), "
            "so its rows would never reach the marts"
        )
    package = plugin_package(type_name, cls)
    if package is not None:
        models, place = model_names(package), f"its dbt package {package}"
        listed = models
    else:
        models, listed = project_models or (model_names(project_dir), listed_project_models(project_dir))
        place = "the dbt project"
    for union, model in cls.dbt_models.items():
        if union not in UNIONS:
            close = difflib.get_close_matches(union, UNIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: dbt_models[{union!r}]: unknown union{hint}; unions: {', '.join(UNIONS)}")
        expected = f"int_{type_name}__{union}"
        if model != expected:
            raise ConfigError(f"{where}: dbt_models[{union!r}] is {model!r}; the union reads the model {expected!r}")
        if model not in models:
            raise ConfigError(f"{where}: dbt_models[{union!r}]: no dbt model named {model!r} in {place}")
        if model not in listed:
            raise ConfigError(
                f"{where}: dbt_models[{union!r}]: {model!r} is not listed in {project_dir / CHANNELS_MACRO} "
                "(project_channel_models): list it there, or ship the models as a dbt package (dbt_package)"
            )
    return package


def plugin_package(type_name: str, cls: type[Connector]) -> Path | None:
    """The dbt package a plug-in ships (`dbt_package`: a folder with a dbt_project.yml), or None when its
    models live in the dbt project.

    Raises:
        ConfigError: the folder has no dbt_project.yml.
    """
    if cls.dbt_package is None:
        return None
    package = Path(cls.dbt_package).resolve()
    if not (package / "dbt_project.yml").is_file():
        raise ConfigError(
            f"connector type {type_name!r}: dbt_package {package} has no dbt_project.yml; it must be the folder "
            "of the plug-in's dbt package (its staging and int_<channel>__<union> models)"
        )
    return package


def plugin_packages(types: Iterable[str] | None = None, project_dir: Path = TRANSFORMATIONS_DIR) -> dict[str, Path]:
    """The dbt packages of the registered plug-ins that ship one (type -> folder), every connector's
    mapping checked (`check_dbt_mapping`)."""
    packages: dict[str, Path] = {}
    project_models = (model_names(project_dir), listed_project_models(project_dir))  # read once for every type
    for type_name in available_types() if types is None else types:
        package = check_dbt_mapping(type_name, connector_class(type_name), project_dir, project_models)
        if package is not None:
            packages[type_name] = package
    return packages


def channels(types: Iterable[str] | None = None, project_dir: Path = TRANSFORMATIONS_DIR) -> list[str]:
    """The channels in the marts: every registered connector type (checked as `check_dbt_mapping` does)."""
    names = list(available_types() if types is None else types)
    plugin_packages(names, project_dir)
    return names


def link_plugin_packages(types: Iterable[str] | None = None, project_dir: Path = TRANSFORMATIONS_DIR) -> list[str]:
    """Link every registered plug-in's dbt package into `project_dir`/dbt_packages/<type> and write the
    package `mdp_plugin_channels` naming their models per union; remove the links of plug-ins no longer
    registered. Writes nothing when nothing changed. Returns the linked types.

    Raises:
        ConfigError: a connector's dbt mapping is wrong (`check_dbt_mapping`).
    """
    packages = plugin_packages(types, project_dir)
    folder = project_dir / PACKAGES_DIR
    if packages:
        folder.mkdir(exist_ok=True)
    for type_name, package in packages.items():
        link = folder / type_name
        if link.is_symlink() and link.resolve() == package:
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            raise ConfigError(
                f"connector type {type_name!r}: {link} is a folder, not the link to its dbt package; remove it"
            )
        link.symlink_to(package, target_is_directory=True)
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.is_symlink() and entry.name not in packages:
                entry.unlink()
    _write_index(folder, packages)
    return sorted(packages)


def _write_index(folder: Path, packages: dict[str, Path]) -> None:
    index = folder / PLUGIN_INDEX
    if not packages:
        if index.exists():
            shutil.rmtree(index)
        return
    unions: dict[str, list[str]] = {}
    for type_name in sorted(packages):
        for union, model in connector_class(type_name).dbt_models.items():
            unions.setdefault(union, []).append(model)
    files = {
        index / "dbt_project.yml": (
            "# Written by flows/dbt_channels.py (link_plugin_packages): the registered plug-ins' channel models.\n"
            f"name: {PLUGIN_INDEX}\nversion: '1.0.0'\nconfig-version: 2\nmacro-paths: [macros]\n"
        ),
        index / "macros" / "plugin_channel_models.sql": (
            "{#- Written by flows/dbt_channels.py (link_plugin_packages): union -> the plug-ins' models. -#}\n"
            "{% macro plugin_channel_models() -%}\n"
            f"    {{{{ return({json.dumps(unions, sort_keys=True)}) }}}}\n"
            "{%- endmacro %}\n"
        ),
    }
    for path, text in files.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def project_vars(config: PipelineConfig, project_dir: Path = TRANSFORMATIONS_DIR) -> dict[str, Any]:
    """The dbt vars of a run: what the configuration implies (reporting currency, reconciliation
    tolerances, dataset prefix). The channels are no var: see the module. (Meta's conversion rule is no var
    either: each connector instance applies its own to the rows it lands; docs/metrics.md.)

    Raises:
        ConfigError: a connector's dbt mapping names an unknown union or model.
    """
    plugin_packages(project_dir=project_dir)
    result: dict[str, Any] = {
        "reporting_currency": config.reporting_currency,
        "reconciliation_tolerances": config.reconciliation.tolerances(),
    }
    if isinstance(config.warehouse, BigQueryWarehouseConfig):
        result["dataset_prefix"] = config.warehouse.dataset_prefix
    return result
