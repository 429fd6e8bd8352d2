"""`mdp` on a configuration error: exit 2 with one line naming the file or `MDP_*` variable and the key path
as written in the configuration; run parameters named by their flags; neither rewritten into the other."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flows.windows import ParameterError
from mdp.cli import _refuse, app
from mdp.errors import ConfigError

runner = CliRunner()


def _never(*args: object, **kwargs: object) -> None:
    raise AssertionError("a refused command must not start anything")


@pytest.fixture(autouse=True)
def _nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a refusal regress, the command fails here instead of starting a server, a sandbox or a run."""
    import deployments.local
    import mdp.cli
    import sandbox.runner

    for module, name in [
        (deployments.local, "up"),
        (deployments.local, "down"),
        (sandbox.runner, "run_forever"),
        (sandbox.runner, "start_sandbox"),
        (mdp.cli, "_run_pipeline"),
    ]:
        monkeypatch.setattr(module, name, _never)


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
        "invalid configuration in p.yaml: connectors[0].accounts[0]: '１２３' is not a 10-digit Google Ads "
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


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["status", "--days", "１２"],
            "--days: expected a whole number from 1 to 400, got '１２' (ASCII only: U+FF11 ",
        ),
        (["status", "--days", "1_0"], "--days: expected a whole number from 1 to 400, got '1_0'"),
        (["status", "--days", "7.0"], "--days: expected a whole number from 1 to 400, got '7.0'"),
        (["status", "--days", "0"], "--days: expected a whole number from 1 to 400, got 0"),
        (["run", "--lookback-days", "abc"], "--lookback-days: expected a whole number from 0 to 400, got 'abc'"),
        (
            ["run", "--start", "２０２６-01-01"],
            "--start: expected a day YYYY-MM-DD, got '２０２６-01-01' (ASCII only: ",
        ),
        (["run", "--end", "2026-1-1"], "--end: expected a day YYYY-MM-DD, got '2026-1-1'"),
        (["run", "--run-date", "2026-02-30"], "--run-date: '2026-02-30' is not a day of the calendar (YYYY-MM-DD)"),
        (["status", "--end", "x\ny"], "--end: expected a day YYYY-MM-DD, got 'x\\ny' (ASCII only: U+000A"),
        (["run", "--start"], "--start: requires an argument"),
        (["run", "--dry-run=yes"], "--dry-run: does not take a value"),
        (["run", "--bogus"], "--bogus: no such option (did you mean --verbose?)"),
        (
            ["nope"],
            "no such command 'nope'; commands: status, pacing, check, dbt-vars, dbt-deps, demo, report, sandbox, run, deploy",
        ),
        (["deploy", "--local", "--port", "70000"], "--port: expected a whole number from 1 to 65535, got 70000"),
        (["sandbox", "--google-port", "-1"], "--google-port: expected a whole number from 0 to 65535, got -1"),
        (["sandbox", "--seed", "-1"], "--seed: expected a whole number from 0 to 9223372036854775807, got -1"),
    ],
)
def test_a_flag_error_is_one_line_naming_the_flag(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    (shown,) = result.output.splitlines()
    assert shown.startswith(f"error: {line}")


def test_a_path_flag_of_the_wrong_kind_is_refused_before_the_command_runs(tmp_path: Path) -> None:
    for args, line in [
        (["report", "--out", str(tmp_path)], f"error: --out: file '{tmp_path}' is a directory"),
        (["sandbox", "--state-dir", __file__], f"error: --state-dir: dir '{__file__}' is a file"),
        (
            ["deploy", "--local", "--env-file", str(tmp_path / "no.env")],
            f"error: --env-file: file '{tmp_path / 'no.env'}' does not exist",
        ),
    ]:
        result = runner.invoke(app, args)
        assert (result.exit_code, result.output) == (2, line + "\n")


@pytest.mark.parametrize(
    ("content", "why"), [(b"A=1\n\xff\n", "not UTF-8 text"), ("ＡＢ=1\n".encode(), "line 1: expected")]
)
def test_a_bad_env_file_is_refused_before_any_server_starts(tmp_path: Path, content: bytes, why: str) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text("timezone: UTC\n")
    env_file = tmp_path / "bad.env"
    env_file.write_bytes(content)
    result = runner.invoke(app, ["deploy", "--local", "--config", str(config), "--env-file", str(env_file)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert line.startswith(f"error: --env-file {env_file}")
    assert why in line


def test_a_wrong_type_in_the_file_and_the_environment_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.yaml"
    config.write_text("connectors:\n  - {name: g, type: google_ads, lookback_days: abc, accounts: {a: 1}}\n")
    result = runner.invoke(app, ["check", "--config", str(config)], env={"MDP_MONITORING__WEEKS": "abc"})
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"error: invalid configuration in {config}: connectors[0].lookback_days: expected an integer, got 'abc'; "
        "connectors[0].accounts: expected a list, got {'a': 1}; monitoring.weeks: expected an integer, got 'abc' "
        "(from environment variable MDP_MONITORING__WEEKS)\n"
    )


def test_a_refused_configuration_leaves_no_prefect_home(tmp_path: Path) -> None:
    """Importing Prefect creates its home folder: every command reads its configuration first. One fresh
    interpreter runs them all in turn: Prefect stays unimported as long as each refuses before importing it."""
    import subprocess
    import sys
    import textwrap

    home = tmp_path / "prefect-home"
    script = textwrap.dedent(
        """
        import sys
        from typer.testing import CliRunner
        from mdp.cli import app

        for command in ["check", "dbt-vars", "status", "report", "run", "demo", "deploy --local"]:
            result = CliRunner().invoke(app, [*command.split(), "--config", "missing.yaml"])
            assert result.exit_code == 2, (command, result.output)
            assert "prefect" not in sys.modules, command
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDP_")} | {"PREFECT_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not home.exists()


PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "pipeline.yaml"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (  # an unknown field
            "metrics.cost_micros, metrics.clicks FROM campaign",
            "metrics.cots_micros FROM campaign",
            "connectors[0].custom_queries[0].query: unknown field 'metrics.cots_micros' "
            "(did you mean 'metrics.cost_micros'?)",
        ),
        (  # an incompatible segment
            "segments.ad_network_type, metrics.cost_micros, metrics.clicks",
            "segments.conversion_action_name, metrics.cost_micros",
            "connectors[0].custom_queries[0].query: segments.conversion_action_name is selectable with conversion "
            "metrics only, and metrics.cost_micros is not one",
        ),
        (  # a hostile stream name
            "name: by_network ",
            'name: "by_network; DROP TABLE x" ',
            "connectors[0].custom_queries[0].name: String should match pattern",
        ),
        (  # a hostile field in a Meta custom insights entry
            "fields: [actions, action_values]",
            'fields: [actions, "spend, impressions"]',
            "connectors[1].custom_insights[0].fields[1]: 'spend, impressions' is not a Meta insights field",
        ),
        (  # an unknown Microsoft report column
            "columns: [CampaignId, Network,",
            "columns: [CampaignId, Netwrok,",
            "connectors[2].custom_reports[0].columns[1]: unknown column 'Netwrok' of CampaignPerformanceReport "
            "(did you mean 'Network'?)",
        ),
        (  # a passthrough metric's unknown field
            "meta_ads: reach}",
            "meta_ads: rech}",
            "metrics[2].sources.meta_ads: the meta_ads connector's field 'rech': unknown field 'rech' "
            "(did you mean 'reach'?)",
        ),
    ],
)
def test_mdp_check_refuses_a_bad_custom_stream_or_metric_in_one_line(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = PROJECT_CONFIG.read_text(encoding="utf-8")
    assert old in text
    config = tmp_path / "pipeline.yaml"
    config.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = runner.invoke(app, ["check", "--config", str(config)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"error: invalid configuration in {config}: ")
    assert expected in line
