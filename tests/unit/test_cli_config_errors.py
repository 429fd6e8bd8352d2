"""`mdp` on a configuration error: exit 2 with one line naming the file or `MDP_*` variable and the key path
as written in the configuration; run parameters named by their flags; neither rewritten into the other."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.windows import ParameterError
from mdp.cli import _refuse, app
from mdp.errors import ConfigError

runner = CliRunner()


@pytest.mark.parametrize("command", [["check"], ["dbt-vars"], ["status"], ["run", "--dry-run"]])
def test_broken_json_in_an_override_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text("timezone: UTC\n")
    result = runner.invoke(app, [*command, "--config", str(config)], env={"MDP_CONNECTORS": '[{"name": "x",'})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: invalid configuration in environment variable MDP_CONNECTORS: connectors: ")
    assert "not valid JSON" in line


def test_a_configuration_key_path_is_not_rewritten_as_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    error = ConfigError(
        "invalid configuration in p.yaml:\n  - connectors[0].accounts[0]: '１２３' is not a 10-digit Google Ads "
        "customer id (ASCII digits, dashes allowed)"
    )
    with pytest.raises(typer.Exit):
        _refuse(error)
    shown = capsys.readouterr().err
    assert "connectors[0].accounts[0]: '１２３'" in shown
    assert "--" not in shown


def test_a_run_parameter_is_named_by_its_flag_and_its_values_stay_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        _refuse(ParameterError("accounts: unknown ['accounts', 'start_date']; known: ['1234567890']"))
    assert capsys.readouterr().err.strip() == (
        "error: --account: unknown ['accounts', 'start_date']; known: ['1234567890']"
    )
