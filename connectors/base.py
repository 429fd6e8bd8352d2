"""The Connector interface every source implements. Connectors never touch the warehouse."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa
from pydantic import ConfigDict, Field

from mdp.config import NAME_PATTERN, SecretRef, StrictScalars
from mdp.errors import ConfigError
from mdp.schema import QuarantinedRow, TableSpec


class ConnectorSettings(StrictScalars):
    """A connector's validated configuration section. Subclasses add their own keys; unknown keys fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    type: str
    enabled: bool = True
    lookback_days: int | None = Field(None, ge=0, le=400)
    accounts: list[str] = Field(default_factory=list)
    credentials: dict[str, SecretRef] = Field(default_factory=dict)
    chunk_days: int = Field(31, ge=1, le=366)
    max_concurrency: int = Field(4, ge=1, le=64)
    unit_retries: int = Field(3, ge=0, le=20)
    max_retry_wait_minutes: float = Field(15.0, gt=0, le=1440)
    streams: list[str] | None = Field(
        None, description="the streams to extract (default: every stream the connector declares)"
    )
    passthrough_fields: list[str] = Field(
        default_factory=list,
        description="platform fields extracted on the ad performance stream for the pipeline's `metrics:` "
        "(set from them; a connector with supports_passthrough only)",
    )


StreamKind = Literal["report", "snapshot"]
# The stream name every connector gives the platform's own account-level daily totals (optional).
TOTALS_STREAM = "account_totals"


@dataclass(frozen=True)
class Stream:
    """One raw table a connector produces, with its own unit of idempotence.

    A `report` stream holds daily metrics: its unit is (account, day) over the requested window.
    A `snapshot` stream holds the entities' state as the API returns it now (names, statuses, budgets):
    its unit is (account, snapshot day), and it is extracted only for the latest complete day, since the
    API cannot say what an entity looked like in the past.
    """

    name: str
    table: TableSpec
    kind: StreamKind = "report"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"stream name {self.name!r} must be lower_snake_case")


@dataclass(frozen=True)
class Account:
    """An ad account as the source describes it."""

    id: str
    name: str | None = None
    currency: str | None = None
    time_zone: str | None = None


@dataclass
class Extracted:
    """One batch of extracted rows (typed by the connector's raw schema) and the rows it rejected."""

    rows: pa.Table
    quarantine: list[QuarantinedRow] = field(default_factory=list)


def zero_totals(spec: TableSpec, account: str, start: dt.date, end: dt.date, present: Iterable[dt.date]) -> pa.Table:
    """Zero rows of a platform totals table for the days of [start, end] not in `present`.

    The platforms leave days without activity out of their answers, and "nothing was spent" is itself a total
    the landed rows must match: a totals stream lands a row for every day it was asked for. A zero row
    carries the account, the day, 0 in every numeric column and null elsewhere (so the other columns of a
    totals table must be nullable).
    """
    seen = set(present)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    missing = [day for day in days if day not in seen]
    columns: dict[str, list[Any]] = {}
    for column in spec.schema:
        if column.name == spec.date_column:
            columns[column.name] = missing
        elif column.name == spec.account_column:
            columns[column.name] = [account] * len(missing)
        elif pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type):
            columns[column.name] = [0] * len(missing)
        else:
            columns[column.name] = [None] * len(missing)
    return pa.table(columns, schema=spec.schema)


class Connector(ABC):
    """A source. Subclasses declare `type_name`, `settings_model`, `streams` (or a single `table`) and
    `default_lookback_days`. The first stream is the primary one: ad-level daily performance, which
    monitoring and freshness read. `self.settings` is the configuration as a `settings_model`, coerced once
    here; a subclass declares `settings: ItsSettings` beside `settings_model = ItsSettings` to read it typed.

    `totals_stream` (optional) names the stream that holds the platform's own account-level daily totals
    (spend, impressions, clicks, conversions, conversion value): a cheap separate request per account and
    chunk, landed like any report stream, that the reconciliation compares the primary stream with. A
    connector that declares it also has an `int_<channel>__account_totals` model (union "account_totals").

    `dbt_models` names the channel's (`type_name`'s) models in the dbt unions: union name -> its
    `int_<channel>__<union>` model, which maps the channel's staging columns to the union's (SQL, in dbt),
    for "ad_performance" (the marts) and the reports and snapshots of `flows.dbt_channels.UNIONS`; a union
    the channel has no model for leaves it out. The models live in the dbt project (listed in
    transformations/macros/channels.sql) or, for a plug-in installed from elsewhere, in the dbt package at
    `dbt_package` (a folder with a dbt_project.yml, shipped inside the plug-in's Python package), which the
    flows link into the project (flows/dbt_channels.py).
    """

    type_name: ClassVar[str]
    display_name: ClassVar[str] = ""  # the platform's name in reports ("TikTok Ads"); default: the type, titled
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    streams: tuple[Stream, ...]  # declared by the class; an instance adds its configuration's (see __init__)
    table: TableSpec
    default_lookback_days: ClassVar[int] = 7
    totals_stream: ClassVar[str | None] = None
    dbt_models: ClassVar[Mapping[str, str]] = {}
    dbt_package: ClassVar[str | Path | None] = None
    supports_passthrough: ClassVar[bool] = False  # extracts `passthrough_fields` on its primary stream

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("streams")
        if declared:
            cls.table = declared[0].table
        elif "table" in cls.__dict__:
            cls.streams = (Stream(cls.table.table_name, cls.table),)
        names = [s.name for s in getattr(cls, "streams", ())]
        if len(set(names)) != len(names):
            raise TypeError(f"{cls.__name__}: duplicate stream names {names}")
        totals = getattr(cls, "totals_stream", None)
        if totals is not None and totals not in names:
            raise TypeError(f"{cls.__name__}: totals_stream {totals!r} is not one of its streams {names}")

    def stream_names(self) -> list[str]:
        """This instance's streams: the declared ones and the configuration's custom streams."""
        return [s.name for s in self.streams]

    def stream(self, name: str) -> Stream:
        for candidate in self.streams:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.type_name} has no stream {name!r}; streams: {', '.join(self.stream_names())}")

    def custom_streams(self) -> tuple[Stream, ...]:
        """The streams the configuration declares (Google `custom_queries`, Meta `custom_insights`,
        Microsoft `custom_reports`), validated against the platform's fields: connectors.kit.custom builds
        them. Raises ConfigError naming the key on a field the platform does not offer."""
        return ()

    def passthrough_columns(self) -> tuple[Any, ...]:
        """The raw columns (connectors.kit.custom.CustomColumn, named `pt_<field>`) that `passthrough_fields`
        add to the primary stream, validated against the platform's fields. Raises ConfigError naming the key
        on a field the platform does not offer there."""
        if self.settings.passthrough_fields:
            raise ConfigError(
                f"invalid configuration: metrics: the {self.type_name} connector ({self.name}) cannot extract "
                f"passthrough fields ({', '.join(self.settings.passthrough_fields)}); leave it out of `sources`"
            )
        return ()

    @property
    def selected_streams(self) -> tuple[Stream, ...]:
        """The configured streams, in declaration order (default: all). The platform totals stream is always
        taken with the primary stream: what lands is reconciled with what the platform reports."""
        wanted = self.settings.streams
        if wanted is None:
            return self.streams
        if self.totals_stream is not None and self.streams[0].name in wanted:
            wanted = [*wanted, self.totals_stream]
        return tuple(s for s in self.streams if s.name in wanted)

    def __init__(
        self,
        settings: ConnectorSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`settings` coerced once to `settings_model`; `sleep` and `clock` are the waits and the time the
        connector's retries and polls use (tests pass fakes)."""
        if not isinstance(settings, self.settings_model):
            settings = self.settings_model.model_validate(settings.model_dump())
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self.streams = self._instance_streams()
        self.table = self.streams[0].table

    def _instance_streams(self) -> tuple[Stream, ...]:
        """The class's streams, the primary one with the passthrough columns, then the custom streams; a custom
        stream may not take a declared stream's name."""
        from connectors.kit.custom import passthrough_table  # the kit imports this module

        declared = type(self).streams
        extra = self.passthrough_columns()
        primary = declared[0]
        if extra:
            where = f"metrics (the {self.name} connector's fields)"
            primary = Stream(primary.name, passthrough_table(primary.table, extra, where), primary.kind)
        custom = self.custom_streams()
        taken = {s.name for s in declared}
        for stream in custom:
            if stream.name in taken:
                raise ConfigError(
                    f"invalid configuration: connectors.{self.name}: custom stream {stream.name!r} is declared twice"
                )
            taken.add(stream.name)
        return (primary, *declared[1:], *custom)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def lookback_days(self) -> int:
        configured = self.settings.lookback_days
        return self.default_lookback_days if configured is None else configured

    @abstractmethod
    def list_accounts(self) -> list[Account]:
        """The accounts this configuration covers (configured, or discovered)."""

    @abstractmethod
    def extract(self, stream: str, account: str, start: dt.date, end: dt.date) -> Iterator[Extracted]:
        """Rows of one stream of `account` for every day from `start` to `end` inclusive, in batches.

        A snapshot stream is asked for one day (start == end): the entities' state now, dated that day.

        Raises:
            RetryableAPIError: the API may succeed if asked again later.
            ConnectorError: it will not (credentials, permissions, bad request).
        """

    def prepare(self, units: Sequence[tuple[str, str, dt.date, dt.date]]) -> None:  # noqa: B027 - optional hook
        """Start the API work of several (stream, account, start, end) units together, before `extract`
        is called for each of them in turn (for example, submit every asynchronous report and poll them
        together instead of one by one). Optional: must never raise; whatever it could not prepare,
        `extract` does as usual."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and sessions."""

    def describe(self) -> dict[str, Any]:
        """What `mdp check` shows about this connector (never a secret)."""
        return {
            "name": self.name,
            "type": self.type_name,
            "table": self.table.name,
            "streams": {s.name: s.table.name for s in self.selected_streams},
            "lookback_days": self.lookback_days,
            "accounts": list(self.settings.accounts) or "discovered at run time",
            "chunk_days": self.settings.chunk_days,
            "max_concurrency": self.settings.max_concurrency,
        }
