"""How `mdp` reads its command line: numbers and days in ASCII only, and every usage error on one line
naming the flag (`error: --start: ...`), exit 2, instead of click's usage block and framed panel."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NoReturn

import typer
from typer import _click  # typer vendors click (0.29+) and exports no UsageError
from typer._click import exceptions as click
from typer.core import TyperGroup, TyperOption

from mdp.errors import one_line
from mdp.identifiers import first_non_ascii


def _shown(value: str) -> str:
    shown = repr(value)
    odd = first_non_ascii(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return shown + (f" (ASCII only: {odd})" if odd else "")


class WholeNumber:
    """A parser of whole numbers low..high written in ASCII digits: no `１２`, `1_0`, ` 7 ` or `7.0`
    (Python's int() and pydantic's take those)."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high

    def __call__(self, value: Any) -> int:
        expected = f"expected a whole number from {self.low} to {self.high}"
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,30}", value, re.ASCII):
            number = int(value)
        else:
            raise ValueError(f"{expected}, got {_shown(str(value))}")
        if not self.low <= number <= self.high:
            raise ValueError(f"{expected}, got {number}")
        return number


def iso_day(value: Any) -> dt.datetime:
    """A day written YYYY-MM-DD in ASCII digits (strptime alone takes `２０２６-1-1`), at midnight."""
    if isinstance(value, dt.datetime):
        return value
    if not (isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII)):
        raise ValueError(f"expected a day YYYY-MM-DD, got {_shown(str(value))}")
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the calendar (YYYY-MM-DD)") from None


def iso_month(value: Any) -> dt.datetime:
    """A month written YYYY-MM in ASCII digits, as its first day at midnight."""
    if isinstance(value, dt.datetime):
        return value
    if not (isinstance(value, str) and re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value, re.ASCII)):
        raise ValueError(f"expected a month YYYY-MM, got {_shown(str(value))}")
    return dt.datetime.strptime(value, "%Y-%m")


def usage_message(exc: click.UsageError) -> str:
    """`--start: expected a day YYYY-MM-DD, got 'x'`: the flag, then what is wrong, on one line."""
    message = str(exc.message).removeprefix("Value error, ").rstrip(".")
    if isinstance(exc, click.NoSuchOption):
        close = f" (did you mean {', '.join(sorted(exc.possibilities))}?)" if exc.possibilities else ""
        return one_line(f"{exc.option_name}: no such option{close}")
    if isinstance(exc, click.BadOptionUsage):
        return one_line(f"{exc.option_name}: {re.sub(r'^Option .*? ', '', message, count=1)}")
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        param = exc.param
        if isinstance(param, TyperOption):
            name = max(param.opts, key=len)
        else:
            name = (param.metavar or (param.name or "").upper()).strip("[]")
        return one_line(f"{name}: {'required' if isinstance(exc, click.MissingParameter) else message}")
    if exc.ctx is not None and message.startswith(("No such command", "Missing command")):
        commands = exc.ctx.command.list_commands(exc.ctx) if isinstance(exc.ctx.command, TyperGroup) else []
        return one_line(f"{message[0].lower()}{message[1:]}; commands: {', '.join(commands)}")
    return one_line(message)


class OneLineUsage(TyperGroup):
    """The command group of `mdp`: a usage error (unknown command or flag, a value that does not parse)
    prints `error: <flag>: <what is wrong>` on stderr and exits 2."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: _click.Context | None = None, **extra: Any
    ) -> _click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            _refuse_usage(exc)

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _refuse_usage(exc)


def _refuse_usage(exc: click.UsageError) -> NoReturn:
    if type(exc).__name__ == "NoArgsIsHelpError":  # `mdp` alone: the help, as typer prints it
        raise exc
    typer.echo(f"error: {usage_message(exc)}", err=True)
    raise typer.Exit(exc.exit_code)
