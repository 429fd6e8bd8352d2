"""Monthly targets for pacing: from `pacing.targets` in pipeline.yaml and/or the CSV `pacing.targets_file`.

Everything a user can get wrong is refused in one line naming the file, the entry and the key, before the
forecast step reads or writes anything: an unknown channel or account, a money target in a currency other than
the reporting currency (targets are paced in it), a currency on a count or a ratio, and two targets for the same
month, grain and metric (the later one would silently win). A target for one month (`month: 2026-12`) takes
precedence over a target for every month (`month` absent) of the same grain and metric; that is not an overlap.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping

from pydantic import ValidationError

from mdp.config import MONEY_TARGETS, PipelineConfig, Target, format_location, validation_message
from mdp.errors import ConfigError, one_line

CSV_COLUMNS = ("month", "channel", "account_id", "campaign_id", "metric", "value", "currency")


def _plain_account(value: str) -> str:
    """`act_123` -> `123`, `123-456-7890` -> `1234567890`: ids compare as the marts store them."""
    return value.removeprefix("act_").replace("-", "")


def load_targets(config: PipelineConfig) -> list[Target]:
    """The configuration's targets then the CSV's, validated together.

    Raises:
        ConfigError: one line naming where (`pacing.targets[2].currency`, `targets.csv line 4: metric`) and why.
    """
    where = str(config.source or "the configuration")
    found: list[tuple[str, Target]] = [
        (f"{where}: {format_location(('pacing', 'targets', i))}", t) for i, t in enumerate(config.pacing.targets)
    ]
    if config.pacing.targets_file is not None:
        found += _read_csv(config)
    channels = {c.type: c for c in config.enabled_connectors()}
    seen: dict[tuple[str | None, str, str | None, str | None, str], str] = {}
    for place, target in found:
        _check(config, place, target, channels)
        key = (target.month, target.channel, _plain(target.account_id), target.campaign_id, target.metric)
        if key in seen:
            raise ConfigError(
                one_line(
                    f"{place}: a second target for {target.describe()} (the first is at {seen[key]}); "
                    "keep one, or give each a different month"
                )
            )
        seen[key] = place
    return [target for _, target in found]


def _plain(account_id: str | None) -> str | None:
    return _plain_account(account_id) if account_id else None


def _check(config: PipelineConfig, place: str, target: Target, channels: Mapping[str, object]) -> None:
    if target.channel not in channels:
        known = ", ".join(sorted(channels)) or "none"
        raise ConfigError(f"{place}: channel: unknown channel {target.channel!r}; enabled connector types: {known}")
    if target.account_id:
        listed = {
            _plain_account(a) for c in config.enabled_connectors() if c.type == target.channel for a in c.accounts
        }
        discovers = any(not c.accounts for c in config.enabled_connectors() if c.type == target.channel)
        if not discovers and _plain_account(target.account_id) not in listed:
            raise ConfigError(
                f"{place}: account_id: {target.account_id!r} is not an account of the {target.channel} "
                f"connector(s) ({', '.join(sorted(listed))})"
            )
    if target.campaign_id and not target.account_id:
        raise ConfigError(f"{place}: campaign_id: give the campaign's account_id too")
    if target.metric in MONEY_TARGETS:
        if target.currency is None:
            raise ConfigError(
                f"{place}: currency: a {target.metric} target needs its currency "
                f"(the reporting currency {config.reporting_currency})"
            )
        if target.currency != config.reporting_currency:
            raise ConfigError(
                f"{place}: currency: {target.currency} is not the reporting currency {config.reporting_currency}; "
                "targets are paced in the reporting currency"
            )
    elif target.currency is not None:
        raise ConfigError(f"{place}: currency: a {target.metric} target has no currency (remove {target.currency})")


def _read_csv(config: PipelineConfig) -> list[tuple[str, Target]]:
    assert config.pacing.targets_file is not None
    path = config.pacing.targets_file.expanduser()
    path = path if path.is_absolute() else config.base_dir / path
    shown = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"pacing.targets_file: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(one_line(f"pacing.targets_file: cannot read {path}: {exc}")) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("channel", "metric", "value") if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        raise ConfigError(
            f"{shown} line 1: "
            + (f"missing column(s) {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(unknown)}")
            + f"; expected {','.join(CSV_COLUMNS)}"
        )
    out: list[tuple[str, Target]] = []
    for line, row in enumerate(reader, start=2):
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            raise ConfigError(f"{shown} line {line}: more fields than columns")
        data = {k: v for k, v in values.items() if v != ""}
        place = f"{shown} line {line}"
        try:
            out.append((place, Target(**data)))
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, place)) from None
    return out


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def targets_for_month(targets: list[Target], month: dt.date) -> list[Target]:
    """The targets that apply to `month`: a dated target replaces the every-month one of the same grain and metric."""
    label = f"{month:%Y-%m}"
    dated = {t.key[1:] for t in targets if t.month == label}
    return [t for t in targets if t.month == label or (t.month is None and t.key[1:] not in dated)]
