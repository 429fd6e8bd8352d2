"""The `mdp` command line on real files."""

from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from mdp.cli import app

runner = CliRunner()


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text("timezone: Europe/Paris\nwarehouse: {type: duckdb, path: wh/demo.duckdb}\n")
    return path


def test_check_prints_what_a_run_would_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert str(tmp_path / "wh" / "demo.duckdb") in result.output.replace("\n", "")


def test_check_rejects_a_bad_file_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Nowhere/Land\n")
    result = runner.invoke(app, ["check", "--config", str(bad)])
    assert result.exit_code == 2
    assert f"invalid configuration in {bad}" in result.output
    assert "timezone: expected an IANA time zone" in result.output


def test_demo_twice_is_safe_and_leaves_the_same_data(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    outputs = []
    for _ in range(2):
        result = runner.invoke(app, ["demo", "--config", str(config)])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
        with duckdb.connect(str(tmp_path / "wh" / "demo.duckdb"), read_only=True) as con:
            outputs.append(
                con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            )
    assert outputs[1] == outputs[3]
    assert outputs[0] == outputs[2]
    assert "not built yet" in outputs[0]
