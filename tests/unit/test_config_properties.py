"""Property-based test of the configuration and CLI surface (issue 27, item 7): an invalid value for any
configuration key (in the file or an `MDP_*` variable) or any flag of any `mdp` command exits 2 with one
line on stderr, no traceback, and nothing written.

The keys are read from the pydantic models (`mdp.config` and every registered connector's settings) and
the flags from the click command tree, so a new key or flag is covered, or fails here until it has an
invalid-value strategy. Commands run in-process; the runners of anything that would start (a run, a
sandbox, a server) are replaced by a failure, so an accidentally valid example cannot start anything.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
import types
import typing
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import annotated_types
import pytest
import typer.main
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo
from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from connectors.registry import available_types, connector_class
from mdp.cli import app
from mdp.cli_usage import WholeNumber, iso_day, iso_month
from mdp.config import ConnectorConfig, PipelineConfig
from mdp.paths import PROJECT_ROOT

TRIED: Counter[str] = Counter()


def examples(count: int) -> Any:
    """Reproducible (derandomized) and bounded: the five properties take about 20 s together."""
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


runner = CliRunner()

# Text no identifier, number, day, name or secret reference accepts: injection-looking strings, look-alike
# and invisible characters, fullwidth and superscript digits, Jinja, very long text. Each holds at least
# one character outside [A-Za-z0-9_-], so no account id, stream or connector name takes it either.
NASTY = [
    "'; drop table x; --",
    "$(rm -rf /)",
    "`id`",
    "{{ jinja }}",
    "{% raw %}",
    "１２３４５６７８９０",
    "²³",
    "12\u200b34",
    "\u200b",
    "аcme",  # Cyrillic a
    "ΕUR",  # Greek capital epsilon
    "EUR ",
    " ",
    "",
    "a\nb",
    "x\u2028y",
    "\x1b[31mred",
    "../../etc/passwd",
    "env:",
    "block:",
    "null\\0",
    "%s%s%n",
    "<script>alert(1)</script>",
    "x" * 5000 + "!",
]
# Numbers Python's int(), float() or Decimal() read, which the configuration must not: each is small
# enough to be in range.
LOOK_ALIKE_NUMBERS = ["１２", "٣", "²", "1_0", "7\u200b", "０.５", "1 2"]
BAD_JSON = ['[{"name": "x",', "{", "[", '{"a": }', "nul", "{'a': 1}", '"unterminated', "[1,]"]
_PRINTABLE = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))


def nasty_text() -> st.SearchStrategy[str]:
    """A NASTY string, or generated text holding a character outside [A-Za-z0-9_-]."""
    generated = st.text(_PRINTABLE, min_size=1, max_size=40).filter(
        lambda s: re.search(r"[^A-Za-z0-9_\-]", s, re.ASCII) is not None
    )
    return st.one_of(st.sampled_from(NASTY), generated)


def wrong_types(*, text: bool = True) -> st.SearchStrategy[Any]:
    """Values of the wrong YAML type for a scalar key: lists, mappings and, when `text`, strings."""
    options: list[st.SearchStrategy[Any]] = [
        st.lists(st.integers(), min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), min_size=1, max_size=2),
    ]
    if text:
        options.append(nasty_text())
    return st.one_of(options)


@dataclass(frozen=True)
class Key:
    """One configuration key: its path as written in the file and the section it sits in."""

    path: tuple[str | int, ...]
    annotation: Any
    info: FieldInfo | None
    connector: str | None = None  # connectors[0] is of this type
    warehouse: str = "duckdb"
    validated: bool = False  # a field_validator of its model checks it

    @property
    def written(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


def _strip(annotation: Any) -> Any:
    """`X | None` and Annotated[X, ...] -> X (None is a valid value of an optional key, never generated)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _models(annotation: Any) -> list[type[BaseModel]]:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _models(a)]
    return []


def _keys_of(model: type[BaseModel], prefix: tuple[str | int, ...], **where: Any) -> list[Key]:
    keys = []
    validated = {
        name
        for decorator in model.__pydantic_decorators__.field_validators.values()
        for name in decorator.info.fields
        if name != "*"
    }
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        keys.append(Key(path, info.annotation, info, validated=name in validated, **where))
        inner = _strip(info.annotation)
        if typing.get_origin(inner) in (list, tuple) and _strip(typing.get_args(inner)[0]) is str:
            keys.append(Key((*path, 0), str, None, **where))
        for sub in _models(info.annotation):
            if path == ("warehouse",):
                keys += _keys_of(sub, path, **{**where, "warehouse": sub.model_fields["type"].annotation.__args__[0]})
            elif path != ("connectors",):
                keys += _keys_of(sub, path, **where)
    return keys


def configuration_keys() -> list[Key]:
    """Every key of pipeline.yaml: the platform's, and every connector type's own under connectors[0]."""
    keys = _keys_of(PipelineConfig, ())
    shared = {key.path: key for key in _keys_of(ConnectorConfig, ("connectors", 0))}
    for type_name in sorted(available_types()):
        for key in _keys_of(connector_class(type_name).settings_model, ("connectors", 0), connector=type_name):
            first = shared.get(key.path)  # ConnectorConfig checks the shared keys before the connector's model
            keys.append(replace(first, connector=type_name) if first is not None else key)
    return keys


KEYS = configuration_keys()
# Keys whose value is text the platform does not check (an address, a block name, a file path): only values
# of the wrong type are invalid there. Listed, so a new free-text key is a decision, not an accident.
FREE_TEXT = {
    "warehouse.path",
    "pacing.targets_file",
    "warehouse.location",
    "warehouse.gcp_credentials_block",
    "alerts.slack_webhook_block",
    "connectors[0].token_uri",
    "connectors[0].token_url",
    "connectors[0].graph_url",
    "connectors[0].endpoint",
    "connectors[0].impersonated_email",
}


def _checked(key: Key) -> bool:
    """Whether a text key has a validator (a pattern, an AfterValidator or a field_validator)."""
    info = key.info
    if info is None or key.validated:
        return True  # a list item (an account id, a stream name, an action type), or a field_validator's
    if any(getattr(m, "pattern", None) or isinstance(m, AfterValidator) for m in info.metadata):
        return True
    stripped = info.annotation
    if typing.get_origin(stripped) in (typing.Union, types.UnionType):
        stripped = next(a for a in typing.get_args(stripped) if a is not type(None))
    return typing.get_origin(stripped) is typing.Annotated


def _bounds(info: FieldInfo | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for meta in info.metadata if info else []:
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(meta, getattr(annotated_types, name.capitalize())):
                found[name] = getattr(meta, name)
    return found


def out_of_range(info: FieldInfo | None, whole: bool) -> st.SearchStrategy[Any] | None:
    bounds = _bounds(info)
    options = []
    low = bounds.get("ge", bounds.get("gt"))
    if low is not None:
        below = st.integers(max_value=int(low) - 1) if "ge" in bounds else st.integers(max_value=int(low))
        options.append(below if whole else st.one_of(below, st.just(float(low) - 0.5)))
    high = bounds.get("le", bounds.get("lt"))
    if high is not None:
        above = st.integers(min_value=int(high) + 1) if "le" in bounds else st.integers(min_value=int(high))
        options.append(above if whole else st.one_of(above, st.just(float("inf"))))
    return st.one_of(options) if options else None


def invalid_text(key: Key) -> st.SearchStrategy[str]:
    """Text a checked text key refuses (NASTY text that does not match its pattern, if it has one)."""
    patterns = [m.pattern for m in (key.info.metadata if key.info else []) if getattr(m, "pattern", None)]
    return nasty_text().filter(lambda s: not any(re.fullmatch(p, s) for p in patterns))


def invalid_values(key: Key) -> st.SearchStrategy[Any]:
    """Values `key` must refuse, by the kind of its annotation."""
    kind = _strip(key.annotation)
    origin = typing.get_origin(kind)
    if kind is bool:
        return st.one_of(wrong_types(), st.integers().filter(lambda n: n not in (0, 1)), st.floats(0.1, 0.9))
    if kind in (int, float, Decimal):
        whole = kind is int
        options = [wrong_types(), st.booleans(), st.sampled_from(LOOK_ALIKE_NUMBERS)]
        if whole:
            options.append(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()))
        ranged = out_of_range(key.info, whole)
        if ranged is not None:
            options.append(ranged)
        return st.one_of(options)
    if origin is Literal:
        allowed = typing.get_args(kind)
        return st.one_of(wrong_types(text=False), nasty_text().filter(lambda s: s not in allowed))
    if kind is str or kind is Path:
        if key.written in FREE_TEXT:
            return st.one_of(wrong_types(text=False), st.integers(), st.booleans())
        assert _checked(key), f"{key.written}: free text? add it to FREE_TEXT or give it a validator"
        return st.one_of(wrong_types(text=False), st.integers(), st.booleans(), invalid_text(key))
    if origin in (list, tuple):
        return st.one_of(nasty_text(), st.integers(), st.booleans(), st.lists(st.integers(), min_size=1, max_size=2))
    if origin is dict:
        return st.one_of(
            nasty_text(),
            st.integers(),
            st.lists(st.integers(), min_size=1, max_size=2),
            st.dictionaries(st.sampled_from(["g", "a"]), nasty_text(), min_size=1, max_size=2),
        )
    if _models(kind):
        return st.one_of(nasty_text(), st.integers(), st.booleans(), st.lists(st.integers(), min_size=1, max_size=2))
    raise AssertionError(f"{key.written}: no invalid-value strategy for {key.annotation!r}")


# One valid section per connector type: the sample pipeline.yaml's.
SECTIONS = {
    section["type"]: section
    for section in yaml.safe_load((PROJECT_ROOT / "pipeline.yaml").read_text(encoding="utf-8"))["connectors"]
}


def base_configuration(root: Path, key: Key | None = None) -> dict[str, Any]:
    """A valid configuration whose sections hold `key`; the warehouse is a file under `root`."""
    warehouse: dict[str, Any] = {"type": "duckdb", "path": str(root / "wh.duckdb")}
    if key is not None and key.warehouse == "bigquery":
        warehouse = {"type": "bigquery", "project": "my-project-1"}
    connector = key.connector if key is not None and key.connector else "google_ads"
    return {"timezone": "UTC", "warehouse": warehouse, "connectors": [dict(SECTIONS[connector])]}


def with_value(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    target: Any = data
    for part in path[:-1]:
        target = target[part] if isinstance(part, int) else target.setdefault(part, {})
    if isinstance(target, list):
        target[:] = [value]
    else:
        target[path[-1]] = value
    return data


@pytest.fixture(scope="module", autouse=True)
def _nothing_starts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Anything that would start (a run, a sandbox, a server) fails instead; the count is reported at the end."""
    import deployments.local
    import mdp.cli
    import sandbox.runner

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("an invalid command must not start anything")

    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as home:
        # Importing Prefect creates its home folder, once per process: done here, so that the examples
        # below see what each command writes, whatever ran first (test_cli_config_errors checks, in a fresh
        # interpreter, that a refused configuration imports no Prefect).
        patch.setenv("PREFECT_HOME", home)
        import prefect  # noqa: F401

        patch.delenv("PREFECT_HOME")
        for module, name in [
            (deployments.local, "up"),
            (deployments.local, "down"),
            (sandbox.runner, "run_forever"),
            (sandbox.runner, "start_sandbox"),
            (mdp.cli, "_run_pipeline"),
        ]:
            patch.setattr(module, name, never)
        yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and TRIED:
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\ntest_config_properties: {sum(TRIED.values())} invalid inputs tried ("
                + ", ".join(f"{n} {kind}" for kind, n in sorted(TRIED.items()))
                + f"); {len(KEYS)} configuration keys, {len(FLAGS)} flags"
            )


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """An empty temporary working directory (nothing may be written in it)."""
    with tempfile.TemporaryDirectory() as name, contextlib.chdir(name):
        yield Path(name)


def files_under(root: Path) -> set[Path]:
    return {Path(d, f) for d, _, names in os.walk(root) for f in names} | {Path(d) for d, _, _ in os.walk(root)}


def assert_refused(root: Path, args: list[str], env: dict[str, str] | None = None, *, kind: str) -> str:
    """`mdp args` exits 2 with one line on stderr, no traceback, and writes nothing under `root`."""
    before = files_under(root)
    clean = {name: None for name in os.environ if name.upper().startswith("MDP_")}
    home = root / "prefect-home"
    result = runner.invoke(app, args, env={**clean, "PREFECT_HOME": str(home), **(env or {})})
    TRIED[kind] += 1
    shown = f"mdp {args!r} env {env!r}: exit {result.exit_code}\nstdout {result.stdout!r}\nstderr {result.stderr!r}"
    assert result.exit_code == 2, shown
    assert isinstance(result.exception, SystemExit), f"{shown}\n{result.exception!r}"
    assert len(result.stderr.splitlines()) == 1, shown
    assert "Traceback" not in result.output, shown
    assert result.stderr.startswith("error: "), shown
    assert files_under(root) == before, shown
    assert not home.exists(), shown
    return result.stderr


def write_config(root: Path, data: Any) -> Path:
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_every_key_and_flag_has_an_invalid_value_strategy() -> None:
    assert len(KEYS) > 60
    for key in KEYS:
        invalid_values(key)
    for command, param in FLAGS:
        flag_values(command, param)


def test_the_base_configurations_are_valid() -> None:
    """So that each refusal below is the generated value's doing."""
    with workspace() as root:
        for connector in SECTIONS:
            for warehouse in ("duckdb", "bigquery"):
                key = Key(("x",), str, None, connector=connector, warehouse=warehouse)
                path = write_config(root, base_configuration(root, key))
                result = runner.invoke(app, ["check", "--config", str(path)])
                if warehouse == "bigquery" and result.exit_code == 2:
                    # valid; `check` then reaches the warehouse check, which finds no Google credentials here
                    assert "error: warehouse: no Google credentials found" in result.output, result.output
                    continue
                assert result.exit_code == 0, result.output


@examples(150)
@given(data=st.data())
def test_an_invalid_value_in_the_file_is_one_line_naming_its_key(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(KEYS), label="key")
    value = data.draw(invalid_values(key), label="value")
    with workspace() as root:
        path = write_config(root, with_value(base_configuration(root, key), key.path, value))
        line = assert_refused(root, ["check", "--config", str(path)], kind="file values")
    section = key.written.split(".")[0].split("[")[0]
    assert f"invalid configuration in {path}" in line or "no such" in line, line
    assert section in line, line
    assert "--" + key.written.split(".")[-1].replace("_", "-") + ":" not in line  # never rewritten into a flag


# Keys an MDP_* variable can set (connectors[0].x only through MDP_CONNECTORS; free text takes any text).
ENV_KEYS = [
    k
    for k in KEYS
    if (k.path == ("connectors",) or "connectors" not in k.path) and k.written not in FREE_TEXT and k.info is not None
]
_COMPLEX = (list, tuple, dict)


def _env_text(key: Key, value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@examples(120)
@given(data=st.data())
def test_an_invalid_environment_override_is_one_line_naming_the_variable(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(ENV_KEYS), label="key")
    variable = "MDP_" + "__".join(str(p).upper() for p in key.path)
    kind = _strip(key.annotation)
    structured = typing.get_origin(kind) in _COMPLEX or kind in _COMPLEX or bool(_models(kind))
    if structured:
        text = data.draw(st.one_of(st.sampled_from(BAD_JSON), invalid_values(key).map(json.dumps)), label="text")
    elif kind is str or kind is Path or typing.get_origin(kind) is Literal:  # any value is text here
        allowed = typing.get_args(kind)
        text = data.draw(invalid_text(key).filter(lambda s: s not in allowed), label="text")
    else:
        text = data.draw(invalid_values(key).map(lambda v: _env_text(key, v)), label="text")
    with workspace() as root:
        path = write_config(root, base_configuration(root, key))
        line = assert_refused(root, ["check", "--config", str(path)], {variable: text}, kind="MDP_* overrides")
    assert variable in line, line


@examples(50)
@given(data=st.data())
def test_a_file_that_is_not_a_configuration_is_one_line_naming_it(data: st.DataObject) -> None:
    content = data.draw(
        st.one_of(
            st.binary(max_size=60).filter(lambda b: _not_utf8(b)),
            st.sampled_from([b"", b"# nothing\n", b"- a\n- b\n", b"42\n", b"timezone: [\n", b"a: b: c\n", b"\t- x"]),
            st.text(_PRINTABLE, max_size=40).map(lambda t: t.encode()),
        ),
        label="content",
    )
    with workspace() as root:
        path = root / "pipeline.yaml"
        path.write_bytes(content)
        try:
            parsed = yaml.safe_load(content.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError):
            parsed = None
        if isinstance(parsed, dict) and set(parsed) <= set(PipelineConfig.model_fields):
            return  # generated text that happens to be a valid (partial) configuration
        line = assert_refused(root, ["check", "--config", str(path)], kind="configuration files")
    assert str(path) in line, line


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


# ---- flags


def _commands() -> list[tuple[str, Any]]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    found = [("", param) for param in group.params]
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found += [(name, param) for param in command.params if param.name != "help"]
    return found


FLAGS = _commands()
INT_TEXT = st.one_of(
    st.sampled_from(["１２", "²", "1_0", " 7 ", "7.0", "1e3", "0x10", "+", "-", "", "٣", "7\u200b", "NaN", "inf"]),
    nasty_text(),
)
DAY_TEXT = st.one_of(
    st.sampled_from(
        ["２０２６-01-01", "2026-1-1", "2026-02-30", "2026-13-01", "26-01-01", "2026/01/01", " 2026-01-01", "20260101"]
    ),
    st.dates(min_value=dt.date(1, 1, 1)).map(lambda d: d.strftime("%d-%m-%Y")),
    nasty_text(),
)

MONTH_TEXT = st.one_of(
    st.sampled_from(
        ["２０２６-01", "2026-1", "2026-13", "2026-00", "26-01", "2026/01", " 2026-01", "202601", "2026-01-01"]
    ),
    nasty_text(),
)


def _parser(param: Any) -> Any:
    return param.type_descriptor.parameter_info.parser


def flag_values(command: str, param: Any) -> st.SearchStrategy[list[str]]:
    """Argument lists that set `param` of `command` to an invalid value (after the command's name)."""
    name = max(param.opts, key=len) if isinstance(param, TyperOption) else param.name
    info = param.type_descriptor.parameter_info
    annotation = _strip(param.type_descriptor.annotation)
    if isinstance(param, TyperOption) and param.is_flag:
        values = st.one_of(st.sampled_from(["1", "yes", "", "no"]), nasty_text())
        long = [opt for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")]
        return st.sampled_from(long).flatmap(lambda opt: values.map(lambda v: [f"{opt}={v}"]))
    parser = _parser(param)
    if annotation is int:
        assert isinstance(parser, WholeNumber), f"{command} {name}: an int flag must parse ASCII (WholeNumber)"
        outside = st.one_of(st.integers(max_value=parser.low - 1), st.integers(min_value=parser.high + 1)).map(str)
        return st.one_of(INT_TEXT, outside).map(lambda v: [name, v])
    if annotation is dt.datetime and parser is iso_month:
        return MONTH_TEXT.map(lambda v: [name, v])
    if annotation is dt.datetime:
        assert parser is iso_day, f"{command} {name}: a date flag must parse with iso_day (or iso_month)"
        return DAY_TEXT.map(lambda v: [name, v])
    if name in ("--config", "-c"):
        return st.sampled_from(["missing.yaml", ".", "~no_such_user_mdp/p.yaml", "not-utf8.yaml", "list.yaml"]).map(
            lambda v: [name, v]
        )
    if annotation is Path:
        if info.dir_okay is False:
            return st.sampled_from([".", "sub"]).map(lambda v: [name, v])
        if info.file_okay is False:
            return st.sampled_from(["a-file", "not-utf8.yaml"]).map(lambda v: [name, v])
        raise AssertionError(f"{command} {name}: a path flag with no check; which values are invalid?")
    if (command, name) in (("run", "--connector"), ("run", "--account")):
        return st.lists(nasty_text(), min_size=1, max_size=2).map(lambda vs: [x for v in vs for x in (name, v)])
    if (command, name) == ("run", "--resume"):
        return st.one_of(nasty_text(), st.text("0123456789abcdef-", min_size=1, max_size=36)).map(lambda v: [name, v])
    if (command, name) == ("run", "run_id"):  # without --retry-failed, or a run the warehouse does not hold
        return st.one_of(
            nasty_text().filter(lambda v: not v.startswith("-")).map(lambda v: [v]),
            st.text("0123456789abcdef-", min_size=1, max_size=36)
            .filter(lambda v: not v.startswith("-"))
            .map(lambda v: ["--retry-failed", v]),
        )
    raise AssertionError(f"{command} {name}: no invalid-value strategy")


def _prepare(root: Path) -> Path:
    """The valid configuration every command is given, and the files some invalid flags point at."""
    (root / "sub").mkdir()
    (root / "a-file").write_text("x")
    (root / "not-utf8.yaml").write_bytes(b"timezone: \xff\n")
    (root / "list.yaml").write_text("- a\n")
    return write_config(root, base_configuration(root))


@examples(150)
@given(data=st.data())
def test_an_invalid_flag_is_one_line_naming_it(data: st.DataObject) -> None:
    command, param = data.draw(st.sampled_from(FLAGS), label="flag")
    args = data.draw(flag_values(command, param), label="args")
    with workspace() as root:
        config = _prepare(root)
        names = {p.name for c, p in FLAGS if c == command}
        before = ["--local"] if command == "deploy" else []
        if "config" in names and param.name != "config":
            before += ["--config", str(config)]
        line = assert_refused(root, [c for c in (command,) if c] + before + args, kind="flag values")
    if isinstance(param, TyperArgument):
        return
    opt = args[0].split("=")[0]
    assert line.startswith(f"error: {opt}") or "invalid configuration" in line or "not found" in line, line
