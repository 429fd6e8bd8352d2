"""How the registered connector types' channels reach the dbt unions (flows/dbt_channels.py): the in-repo
channels' models listed in macros/channels.sql, a plug-in's dbt package linked into the project, and the
one-line errors of a bad mapping."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pytest

from connectors import registry
from connectors.base import Account, Connector, Extracted
from flows.dbt_channels import (
    PLUGIN_INDEX,
    UNIONS,
    channels,
    link_plugin_packages,
    listed_project_models,
    model_names,
)
from mdp.errors import ConfigError
from mdp.paths import TRANSFORMATIONS_DIR
from mdp.schema import TableSpec

PACKAGE_PROJECT = "name: tiny_ads\nversion: '1.0.0'\nconfig-version: 2\nmodel-paths: [models]\n"


class TinyConnector(Connector):
    """A plug-in-shaped connector whose models ship as a dbt package (set by the fixture)."""

    type_name = "tiny_ads"
    table = TableSpec(
        "raw_tiny_ads.ad_performance",
        pa.schema([pa.field("account_id", pa.string(), False), pa.field("date", pa.date32(), False)]),
        "account_id",
        "date",
    )
    dbt_models: ClassVar[Mapping[str, str]] = {
        "ad_performance": "int_tiny_ads__ad_performance",
        "device": "int_tiny_ads__device",
    }

    def list_accounts(self) -> list[Account]:
        return []

    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        yield from ()


def variant(**attributes: object) -> type[TinyConnector]:
    return type("BadConnector", (TinyConnector,), dict(attributes))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the dbt project's files that matter here (dbt_project.yml, macros, the model names)."""
    copy = tmp_path / "project"
    shutil.copytree(TRANSFORMATIONS_DIR / "macros", copy / "macros")
    shutil.copy(TRANSFORMATIONS_DIR / "dbt_project.yml", copy)
    for name in model_names():
        (copy / "models" / f"{name}.sql").parent.mkdir(parents=True, exist_ok=True)
        (copy / "models" / f"{name}.sql").write_text("select 1\n")
    return copy


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tiny_ads_dbt"
    (folder / "models").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(PACKAGE_PROJECT)
    for model in TinyConnector.dbt_models.values():
        (folder / "models" / f"{model}.sql").write_text("select 1\n")
    monkeypatch.setattr(TinyConnector, "dbt_package", folder)
    monkeypatch.setitem(registry.BUILT_IN, "tiny_ads", f"{__name__}:TinyConnector")
    return folder


def test_every_in_repo_connector_model_is_listed_and_exists() -> None:
    listed, models = listed_project_models(), model_names()
    for type_name in registry.available_types():
        cls = registry.connector_class(type_name)
        assert cls.dbt_package is None, type_name
        for union, model in cls.dbt_models.items():
            assert union in UNIONS
            assert model == f"int_{type_name}__{union}"
            assert model in listed, model
            assert model in models, model
    names = {model.removeprefix("int_").split("__")[0] for model in listed}
    assert names == set(registry.available_types())
    assert channels() == list(registry.available_types())


def test_a_plugin_package_is_linked_with_its_models_per_union(project: Path, package: Path) -> None:
    assert link_plugin_packages(project_dir=project) == ["tiny_ads"]
    link = project / "dbt_packages" / "tiny_ads"
    assert link.is_symlink()
    assert link.resolve() == package
    macro = project / "dbt_packages" / PLUGIN_INDEX / "macros" / "plugin_channel_models.sql"
    text = macro.read_text()
    assert '"ad_performance": ["int_tiny_ads__ad_performance"]' in text
    assert '"device": ["int_tiny_ads__device"]' in text
    stamp = macro.stat().st_mtime_ns
    link_plugin_packages(project_dir=project)  # nothing changed: nothing rewritten (dbt's partial parse)
    assert macro.stat().st_mtime_ns == stamp


def test_an_unregistered_plugin_is_unlinked(project: Path, package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link_plugin_packages(project_dir=project)
    monkeypatch.delitem(registry.BUILT_IN, "tiny_ads")
    assert link_plugin_packages(project_dir=project) == []
    assert not (project / "dbt_packages" / "tiny_ads").exists()
    assert not (project / "dbt_packages" / PLUGIN_INDEX).exists()


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"dbt_models": {"ad_performance": "int_tiny_ads__ad_performance", "devices": "x"}},
            r"connector type 'tiny_ads' \(.*BadConnector\): dbt_models\['devices'\]: unknown union "
            r"\(did you mean 'device'\?\); unions: ad_performance, keyword",
        ),
        (
            {"dbt_models": {"ad_performance": "stg_tiny_ads__ad_performance"}},
            r"dbt_models\['ad_performance'\] is 'stg_tiny_ads__ad_performance'; the union reads the model "
            r"'int_tiny_ads__ad_performance'",
        ),
        (
            {"dbt_models": {"ad_performance": "int_tiny_ads__ad_performance", "keyword": "int_tiny_ads__keyword"}},
            r"dbt_models\['keyword'\]: no dbt model named 'int_tiny_ads__keyword' in its dbt package",
        ),
        (
            {"type_name": "tiny"},
            r"connector type 'tiny_ads' .*: type_name is 'tiny'; the channel must be the registered type",
        ),
        (
            {"dbt_models": {}},
            r"connector type 'tiny_ads' .*: dbt_models has no 'ad_performance' key",
        ),
        (
            {"dbt_package": None},
            r"dbt_models\['ad_performance'\]: no dbt model named 'int_tiny_ads__ad_performance' in the dbt project",
        ),
        (
            {"dbt_package": "/nonexistent/tiny_ads_dbt"},
            r"connector type 'tiny_ads': dbt_package /nonexistent/tiny_ads_dbt has no dbt_project.yml",
        ),
    ],
)
def test_a_bad_mapping_is_one_line_naming_type_and_key(
    project: Path, package: Path, monkeypatch: pytest.MonkeyPatch, attributes: dict[str, object], message: str
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "BadConnector", variant(**attributes), raising=False)
    monkeypatch.setitem(registry.BUILT_IN, "tiny_ads", f"{__name__}:BadConnector")
    with pytest.raises(ConfigError, match=message) as info:
        link_plugin_packages(project_dir=project)
    assert "\n" not in str(info.value)


def test_an_in_project_model_not_listed_in_channels_sql_is_refused(
    project: Path, package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "models" / "int_tiny_ads__ad_performance.sql").write_text("select 1\n")
    monkeypatch.setattr(
        sys.modules[__name__],
        "BadConnector",
        variant(dbt_models={"ad_performance": "int_tiny_ads__ad_performance"}, dbt_package=None),
        raising=False,
    )
    monkeypatch.setitem(registry.BUILT_IN, "tiny_ads", f"{__name__}:BadConnector")
    with pytest.raises(ConfigError, match=r"is not listed in .*channels.sql \(project_channel_models\)"):
        link_plugin_packages(project_dir=project)
