"""`pipeline.yaml` loaded into validated pydantic models, with `MDP_*` environment overrides.

Secrets appear only as references (`env:NAME`, `block:NAME`); see `mdp.secrets` for their resolution.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from mdp.errors import ConfigError, one_line
from mdp.paths import default_config_path

ENV_PREFIX = "MDP_"
SECRET_REF_PATTERN = re.compile(r"(env|block):([A-Za-z0-9_][A-Za-z0-9_.\-/]*)")
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
# ISO 4217 codes the platform knows how to label; conversion rates come from the dbt FX seed.
KNOWN_CURRENCIES = frozenset(
    "AED ARS AUD BGN BRL CAD CHF CLP CNY COP CZK DKK EGP EUR GBP HKD HUF IDR ILS INR JPY KRW KWD MXN MYR"  # noqa: SIM905
    " NGN NOK NZD PEN PHP PKR PLN QAR RON SAR SEK SGD THB TRY TWD UAH USD VND ZAR".split()
)


def _check_secret_ref(value: str) -> str:
    if not SECRET_REF_PATTERN.fullmatch(value):
        raise ValueError(
            "expected a secret reference 'env:VARIABLE' or 'block:SECRET_BLOCK_NAME'; "
            "secret values never belong in the configuration file"
        )
    return value


SecretRef = Annotated[str, AfterValidator(_check_secret_ref)]


def _check_currency(value: str) -> str:
    if value not in KNOWN_CURRENCIES:
        raise ValueError(f"expected an ISO 4217 currency code such as EUR or USD, got {value!r}")
    return value


Currency = Annotated[str, AfterValidator(_check_currency)]


_WHOLE = (int, int | None)
_NUMBERS: tuple[Any, ...] = (*_WHOLE, float, float | None, Decimal, Decimal | None)
_WHOLE_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_NUMBER_TEXT = re.compile(
    r"\s*[+-]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|inf|infinity|nan)\s*", re.ASCII | re.IGNORECASE
)


class StrictScalars(BaseModel):
    """Numbers are numbers: pydantic would read `lookback_days: true` as 1, and text `1_0` (or, for a
    Decimal, `１２`) as a number, in the file and in `MDP_*` variables alike."""

    @field_validator("*", mode="before")
    @classmethod
    def _strict_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        return strict_number(value, field.annotation) if field is not None else value


def strict_number(value: Any, annotation: Any) -> Any:
    """`value` unchanged, unless it is a boolean or non-ASCII-number text for a numeric `annotation`."""
    if annotation not in _NUMBERS:
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
    whole = annotation in _WHOLE
    if isinstance(value, str) and not (_WHOLE_TEXT if whole else _NUMBER_TEXT).fullmatch(value):
        raise ValueError(f"expected {'an integer' if whole else 'a number'}, got {value!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DuckDBWarehouseConfig(_Strict):
    """The embedded default: one DuckDB file."""

    type: Literal["duckdb"] = "duckdb"
    path: Path = Field(Path("data/warehouse.duckdb"), description="relative to the configuration file")
    lock_timeout_seconds: float = Field(30.0, ge=0, le=3600)

    @field_validator("lock_timeout_seconds", mode="before")
    @classmethod
    def _strict_timeout(cls, value: Any) -> Any:
        # not StrictScalars: its validator of every field would reach `type`, which a discriminator forbids
        return strict_number(value, float)

    @field_validator("path")
    @classmethod
    def _expandable(cls, path: Path) -> Path:
        try:
            path.expanduser()
        except RuntimeError:
            raise ValueError(f"{str(path)!r} starts with ~ but names no user of this machine") from None
        return path


class BigQueryWarehouseConfig(_Strict):
    """Production: BigQuery datasets `<dataset_prefix>raw_*`, `<dataset_prefix>ops`, ..."""

    type: Literal["bigquery"]
    project: str = Field(pattern=r"^[a-z][a-z0-9\-]{4,28}[a-z0-9]$")
    location: str = "EU"
    dataset_prefix: str = Field("", pattern=r"^[A-Za-z0-9_]*$")
    gcp_credentials_block: str | None = Field(
        None, description="prefect-gcp GcpCredentials block; Application Default Credentials when absent"
    )


WarehouseConfig = Annotated[DuckDBWarehouseConfig | BigQueryWarehouseConfig, Field(discriminator="type")]


class ConnectorConfig(StrictScalars):
    """Options every connector shares. Connector-specific keys (endpoint, graph_url, ...) are kept
    as extras here and validated by the connector's own settings model through the registry."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    type: str = Field(pattern=NAME_PATTERN)
    enabled: bool = True
    lookback_days: int | None = Field(None, ge=0, le=400, description="connector default when absent")
    accounts: list[str] = Field(default_factory=list)
    credentials: dict[str, SecretRef] = Field(default_factory=dict)
    chunk_days: int = Field(31, ge=1, le=366, description="days per extraction unit")
    max_concurrency: int | None = Field(
        None, ge=1, le=64, description="concurrent API units for this connector (default: the connector's own)"
    )
    unit_retries: int = Field(3, ge=0, le=20, description="retries of a failed unit on a retryable API error")
    max_retry_wait_minutes: float = Field(
        15.0, gt=0, le=1440, description="longest wait before a unit retry (a longer delay asked by the API fails)"
    )

    @field_validator("accounts")
    @classmethod
    def _unique_accounts(cls, accounts: list[str]) -> list[str]:
        duplicates = sorted(a for a, n in Counter(accounts).items() if n > 1)  # linear: sections list 10,000
        if duplicates:
            raise ValueError(f"accounts listed twice: {duplicates}")
        if any(not a.strip() for a in accounts):
            raise ValueError("account ids must not be empty")
        return accounts

    def options(self) -> dict[str, Any]:
        """Every key this section sets, shared and connector-specific (the connector's settings model
        gives the defaults of the others)."""
        return self.model_dump(exclude_unset=True)


class AlertsConfig(_Strict):
    slack_webhook_block: str | None = Field(None, description="prefect-slack SlackWebhook block name")


MonitoringMethod = Literal["log", "linear"]
# monitoring.spend_expressions is SQL: it must parse as this small grammar (column names, numbers,
# arithmetic and a few functions, one aggregate), so nothing else from the file reaches a query.
_SPEND_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))", re.ASCII
)
SPEND_FUNCTIONS = frozenset({"sum", "coalesce", "nullif", "abs", "round", "cast", "as", "double", "float64", "numeric"})


def spend_expression_columns(expression: str) -> set[str]:
    """The column names an accepted spend expression reads (the words that are not functions)."""
    return {
        m.group("name")
        for m in _SPEND_TOKEN.finditer(expression)
        if m.group("name") and m.group("name").lower() not in SPEND_FUNCTIONS
    }


def check_spend_expression(expression: str, *, where: str) -> None:
    """Accept `SUM(cost_micros) / 1e6`-like aggregates only.

    Raises:
        ValueError: naming the connector and the first offending character.
    """
    if "--" in expression or "/*" in expression:
        raise ValueError(f"{where}: {expression!r} is not a spend aggregate (SQL comments are not allowed)")
    position, depth = 0, 0
    text = expression.rstrip()
    while position < len(text):
        match = _SPEND_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(
                f"{where}: {expression!r} is not a spend aggregate (unexpected {text[position:].lstrip()[:1]!r}); "
                "use column names, numbers, + - * / ( ), and SUM, COALESCE, NULLIF, ABS, ROUND, CAST(x AS DOUBLE)"
            )
        depth += {"(": 1, ")": -1}.get(match.group("op") or "", 0)
        if depth < 0:
            break
        position = match.end()
    if depth != 0:
        raise ValueError(f"{where}: {expression!r} has unbalanced parentheses")
    if not re.search(r"\bsum\s*\(", expression, re.IGNORECASE):
        raise ValueError(f"{where}: {expression!r} must aggregate with SUM(...)")


class MonitoringSettings(StrictScalars):
    """The `monitoring:` section of pipeline.yaml; every key has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(7, ge=1, le=400, description="days checked when the flow runs alone (ending yesterday)")
    weeks: int = Field(8, ge=2, le=52, description="same-weekday history: the last N weeks before the day")
    min_history: int = Field(
        4, ge=2, le=52, description="history points needed for a verdict; fewer: insufficient_history"
    )
    method: MonitoringMethod = Field(
        "log",
        description="log: compare log(1 + value), so deviations are relative; linear: raw values",
    )
    warn_z: float = Field(3.5, gt=0, description="|robust z| from which a check warns")
    anomaly_z: float = Field(6.0, gt=0, description="|robust z| from which a check is an anomaly")
    min_relative_scale: float = Field(
        0.1,
        gt=0,
        le=10,
        description="floor of the spread as a share of the baseline (10%), so a very steady history "
        "does not turn small changes into anomalies",
    )
    metrics: tuple[Literal["rows", "spend"], ...] = ("rows", "spend")
    spend_expressions: dict[str, str] = Field(
        default_factory=dict,
        description="connector name -> SQL aggregate of its spend (default: detected from the raw schema)",
    )
    alert_statuses: tuple[Literal["anomaly", "warn"], ...] = Field(
        ("anomaly",), description="statuses listed in the Slack alert"
    )
    max_alert_lines: int = Field(25, ge=1, le=200)

    @field_validator("spend_expressions")
    @classmethod
    def _spend_grammar(cls, expressions: dict[str, str]) -> dict[str, str]:
        for connector, expression in expressions.items():
            check_spend_expression(expression, where=connector)
        return expressions

    @model_validator(mode="after")
    def _ordered_thresholds(self) -> MonitoringSettings:
        if self.anomaly_z < self.warn_z:
            raise ValueError(f"anomaly_z ({self.anomaly_z}) must be >= warn_z ({self.warn_z})")
        if self.min_history > self.weeks:
            raise ValueError(f"min_history ({self.min_history}) cannot exceed weeks ({self.weeks})")
        return self


class ReconciliationSettings(StrictScalars):
    """The `reconciliation:` section of pipeline.yaml: what landed against the platforms' own daily totals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        True, description="compare every loaded account-day with the platform's totals (after dbt); off: never"
    )
    spend: Decimal = Field(
        Decimal("0.01"), ge=0, le=1000, description="largest spend difference per account-day (account currency)"
    )
    conversion_value: Decimal = Field(
        Decimal("0.01"), ge=0, le=1000, description="largest conversion value difference per account-day"
    )
    impressions: int = Field(0, ge=0, description="largest impressions difference per account-day")
    clicks: int = Field(0, ge=0, description="largest clicks difference per account-day")
    conversions: Decimal = Field(
        Decimal("0.01"), ge=0, le=1000, description="largest conversions difference per account-day"
    )

    def tolerances(self) -> dict[str, str]:
        """The dbt var reconciliation_tolerances (numbers as text: money never passes through a float)."""
        return {name: str(getattr(self, name)) for name in RECONCILED_METRICS}


RECONCILED_METRICS = ("spend", "conversion_value", "impressions", "clicks", "conversions")


# Columns of fct_ad_performance_daily and the marts a passthrough metric may not take.
MART_COLUMNS = frozenset(
    {
        "ad_performance_key",
        "date_day",
        "channel",
        "account_id",
        "account_name",
        "account_currency",
        "account_timezone",
        "campaign_id",
        "campaign_name",
        "ad_group_id",
        "ad_group_name",
        "ad_id",
        "impressions",
        "clicks",
        "conversions",
        "spend",
        "conversion_value",
        "reporting_currency",
        "fx_rate",
        "spend_reporting",
        "conversion_value_reporting",
        "ctr",
        "cpc",
        "cpm",
        "cpa",
        "roas",
        "conversion_rate",
        "value_per_conversion",
        "campaign_status",
        "campaign_type",
        "bidding_strategy",
        "budget_amount",
        "budget_period",
        "ad_group_status",
        "cpc_bid",
        "ad_name",
        "ad_status",
        "ad_type",
        "final_url",
        "accounts",
        "campaigns",
        "days",
    }
)
METRIC_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
# A platform field as a passthrough source: dotted, colon-qualified names of letters, digits and underscores
# (`metrics.video_views`, `actions:video_view`, `AllConversions`); each connector then checks it exists.
FIELD_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*([.:][A-Za-z0-9_][A-Za-z0-9_.]*)?$"
MetricKind = Literal["integer", "number", "money"]


class MetricConfig(_Strict):
    """A passthrough metric: a platform field (or the sum of several) per channel, carried from each
    channel's ad performance stream into fct_ad_performance_daily and the marts built on it."""

    name: str = Field(pattern=METRIC_NAME_PATTERN, description="the column in the marts")
    description: str = Field("", max_length=500)
    kind: MetricKind = Field(
        "number", description="integer (counts), number (fractional), money (account currency, also converted)"
    )
    additive: bool = Field(
        True, description="summed over days, ads, campaigns and accounts; false (reach, frequency): own grain only"
    )
    sources: dict[str, list[str]] = Field(
        min_length=1, description="connector type -> the field, or the fields summed, on its ad performance stream"
    )

    @field_validator("sources", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: [field] if isinstance(field, str) else field for key, field in value.items()}
        return value

    @field_validator("sources")
    @classmethod
    def _fields(cls, sources: dict[str, list[str]]) -> dict[str, list[str]]:
        for channel, fields in sources.items():
            if not re.fullmatch(NAME_PATTERN, channel):
                raise ValueError(f"{channel!r} is not a connector type")
            if not fields:
                raise ValueError(f"{channel}: name at least one field")
            for field in fields:
                if not re.fullmatch(FIELD_PATTERN, field, re.ASCII):
                    raise ValueError(f"{channel}: {field!r} is not a field name")
            if len(set(fields)) != len(fields):
                raise ValueError(f"{channel}: a field is listed twice")
        return sources

    @field_validator("name")
    @classmethod
    def _free_name(cls, name: str) -> str:
        if name in MART_COLUMNS or name.endswith("_reporting"):
            raise ValueError(f"{name!r} is a column the marts already have (or a *_reporting name); choose another")
        return name


ForecastModel = Literal["default", "seasonal_naive", "auto_ets", "auto_theta", "seasonal_es"]
ForecastGrain = Literal["channel", "account", "campaign"]
TargetMetric = Literal["spend", "conversions", "conversion_value", "roas"]
MONEY_TARGETS = frozenset({"spend", "conversion_value"})
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


class ForecastSettings(StrictScalars):
    """The `forecast:` section: the forecast and pacing step after dbt (docs/forecasting.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="run the forecast step after dbt in the daily flow")
    model: ForecastModel = Field(
        "default", description="the forecasting model; default: the one the backtest chose (docs/benchmarks.md)"
    )
    horizon_days: int = Field(30, ge=7, le=92, description="days forecast ahead (at least to the month's end)")
    history_days: int = Field(
        56, ge=28, le=730, description="days of history each model sees (8 weeks: the backtest's choice)"
    )
    min_history_days: int = Field(
        28, ge=14, le=365, description="days with data a grain needs; fewer: insufficient_history, no forecast"
    )
    grains: tuple[ForecastGrain, ...] = Field(("channel", "account", "campaign"), min_length=1)

    @model_validator(mode="after")
    def _history_covers_minimum(self) -> ForecastSettings:
        if self.min_history_days > self.history_days:
            raise ValueError(
                f"min_history_days ({self.min_history_days}) must not exceed history_days ({self.history_days})"
            )
        return self


class Target(_Strict):
    """A monthly target: spend, conversions, conversion value or ROAS of a channel, an account or a campaign."""

    month: str | None = Field(
        None, pattern=MONTH_PATTERN, description="YYYY-MM; absent: every month (a dated target wins over it)"
    )
    channel: str = Field(pattern=NAME_PATTERN, description="a configured connector type, e.g. google_ads")
    account_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    campaign_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,40}$")
    metric: TargetMetric
    value: Decimal = Field(gt=0, description="the month's total (spend, conversions, value) or the ratio (roas)")
    currency: Currency | None = Field(None, description="money targets: the reporting currency, said explicitly")

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return strict_number(value, Decimal)

    @property
    def grain(self) -> ForecastGrain:
        return "campaign" if self.campaign_id else "account" if self.account_id else "channel"

    @property
    def key(self) -> tuple[str | None, str, str | None, str | None, str]:
        return (self.month, self.channel, self.account_id, self.campaign_id, self.metric)

    def describe(self) -> str:
        where = self.channel + (f" account {self.account_id}" if self.account_id else "")
        where += f" campaign {self.campaign_id}" if self.campaign_id else ""
        return f"{self.metric} of {where} in {self.month or 'every month'}"


class PacingSettings(StrictScalars):
    """The `pacing:` section: targets and the thresholds of the pacing verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    over_threshold: float = Field(1.10, gt=1, le=10, description="projected / target above it: over")
    under_threshold: float = Field(0.90, gt=0, lt=1, description="projected / target below it: under")
    budgets: bool = Field(True, description="pace campaigns with a daily budget against it")
    budget_under_threshold: float = Field(
        0.6,
        gt=0,
        lt=1,
        description="projected / budget below it: under (campaigns rarely spend all their budget: a lower bar)",
    )
    targets: tuple[Target, ...] = Field((), description="monthly targets (and/or targets_file)")
    targets_file: Path | None = Field(None, description="a CSV of targets, relative to the configuration file")
    max_alert_lines: int = Field(20, ge=1, le=100)


ExecutionMode = Literal["in_process", "deployments"]
DEPLOYMENT_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"


class ExecutionSettings(StrictScalars):
    """The `execution:` section: where the connectors' ingest runs (docs/deployment.md, "Fan-out")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: ExecutionMode = Field(
        "in_process",
        description="in_process: every connector's ingest in the parent run's process; deployments: each "
        "connector's account shards as deployment runs on the work pool",
    )
    ingest_deployment: str = Field(
        "ingest/ingest-local",
        pattern=DEPLOYMENT_NAME_PATTERN,
        description="the ingest flow's deployment the shards run as (flow/deployment)",
    )
    shard_accounts: int = Field(500, ge=1, le=100_000, description="accounts per shard (one deployment run each)")
    start_timeout_seconds: int = Field(
        600,
        ge=10,
        le=86_400,
        description="when no shard starts or ends for this long, the shards no worker took fail the run "
        "(naming the pool)",
    )
    stale_after_seconds: int = Field(
        600,
        ge=60,
        le=86_400,
        description="a running shard without a heartbeat for this long crashed (keep it above twice the "
        "children's PREFECT_FLOWS_HEARTBEAT_FREQUENCY)",
    )
    shard_attempts: int = Field(2, ge=1, le=5, description="runs of a shard that crashes, the first included")
    poll_seconds: float = Field(5.0, ge=0.5, le=300, description="seconds between the parent's looks at its shards")
    max_concurrent_starts: int = Field(8, ge=1, le=100, description="shard runs created at once")


class PipelineConfig(BaseSettings):
    """The whole `pipeline.yaml`. Environment variables `MDP_<KEY>` (nested with `__`) override it."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    timezone: str = "UTC"
    reporting_currency: Currency = "EUR"
    warehouse: WarehouseConfig = Field(default_factory=lambda: DuckDBWarehouseConfig())
    connectors: list[ConnectorConfig] = Field(default_factory=list)
    alerts: AlertsConfig = Field(default_factory=lambda: AlertsConfig())
    monitoring: MonitoringSettings = Field(default_factory=lambda: MonitoringSettings())
    reconciliation: ReconciliationSettings = Field(default_factory=lambda: ReconciliationSettings())
    metrics: list[MetricConfig] = Field(default_factory=list, description="passthrough metrics (docs/metrics.md)")
    forecast: ForecastSettings = Field(default_factory=lambda: ForecastSettings())
    pacing: PacingSettings = Field(default_factory=lambda: PacingSettings())
    execution: ExecutionSettings = Field(default_factory=lambda: ExecutionSettings())

    _source: Path | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file; nothing else is read.
        return env_settings, init_settings

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone such as Europe/Paris or UTC, got {value!r}") from None
        return value

    @model_validator(mode="after")
    def _unique_connector_names(self) -> PipelineConfig:
        names = [c.name for c in self.connectors]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"connector names must be unique, repeated: {duplicates}")
        metrics = [m.name for m in self.metrics]
        twice = sorted({n for n in metrics if metrics.count(n) > 1})
        if twice:
            raise ValueError(f"metrics: names must be unique, repeated: {twice}")
        return self

    def passthrough_fields(self, connector_type: str) -> list[str]:
        """The fields the `metrics:` ask of a connector type's ad performance stream, each once, in order."""
        fields: list[str] = []
        for metric in self.metrics:
            for field in metric.sources.get(connector_type, []):
                if field not in fields:
                    fields.append(field)
        return fields

    @property
    def source(self) -> Path | None:
        """The file this configuration came from, if any."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Relative paths in the configuration are relative to its file."""
        return self._source.parent if self._source else Path.cwd()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def warehouse_path(self) -> Path:
        """The DuckDB file, absolute."""
        if not isinstance(self.warehouse, DuckDBWarehouseConfig):
            raise ConfigError("warehouse.path: the configured warehouse is not DuckDB")
        path = self.warehouse.path.expanduser()
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    def enabled_connectors(self) -> list[ConnectorConfig]:
        return [c for c in self.connectors if c.enabled]

    def connector(self, name: str) -> ConnectorConfig:
        for candidate in self.connectors:
            if candidate.name == name:
                return candidate
        known = ", ".join(c.name for c in self.connectors) or "none"
        raise ConfigError(f"unknown connector {name!r}; configured connectors: {known}")


def format_location(loc: Sequence[int | str]) -> str:
    """('connectors', 1, 'lookback_days') -> 'connectors[1].lookback_days'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


# What a pydantic error type expected, in the words of the configuration file.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_parsing_size": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping of keys",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
    "path_type": "a file path",
    "finite_number": "a finite number",
}
_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _describe(error: Mapping[str, Any], prefix: Sequence[int | str]) -> tuple[str, str | None]:
    """One validation error as `key.path: what was expected, got what`, and the `MDP_*` variable that set it."""
    loc = [*prefix, *error["loc"]]
    if len(loc) >= 2 and loc[0] == "warehouse" and loc[1] in ("duckdb", "bigquery"):
        del loc[1]
    if loc and isinstance(loc[-1], str) and loc[-1].startswith(("function-after", "constrained-str")):
        loc.pop()
    message = str(error["msg"]).removeprefix("Value error, ")
    kind = error["type"]
    hidden = "credentials" in loc  # a credential value is never echoed
    if kind == "extra_forbidden":
        message = "unknown key (check the spelling; see the sample pipeline.yaml)"
    elif kind == "missing":
        message = "required key is missing"
        given = error.get("input")
        if isinstance(given, Mapping) and loc and isinstance(loc[-1], str):
            near = difflib.get_close_matches(loc[-1], [str(k) for k in given], n=1, cutoff=0.6)
            if near:
                message += f" (found {near[0]!r}: did you mean {loc[-1]!r}?)"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):  # warehouse.type
        context = error.get("ctx") or {}
        loc.append(str(context.get("discriminator", "type")).strip("'"))
        message = (
            f"expected one of {context.get('expected_tags')}, got {_shown(context.get('tag'))}"
            if kind == "union_tag_invalid"
            else "required key is missing"
        )
    elif kind in _EXPECTED or kind in _BOUNDS:
        bound = _BOUNDS.get(kind)
        limit = (error.get("ctx") or {}).get({">=": "ge", ">": "gt", "<=": "le", "<": "lt"}.get(bound or "", ""))
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        expected = f"a number {bound} {limit}" if bound else _EXPECTED[kind]
        message = f"expected {expected}" + ("" if hidden else f", got {_shown(error.get('input'))}")
    elif not hidden and kind != "value_error":
        message = f"{message} (got {_shown(error.get('input'))})"
    return f"{format_location(loc)}: {message}", env_source(loc)


def env_source(loc: Sequence[int | str]) -> str | None:
    """The set `MDP_*` variable a key path came from: the one naming that key, a section holding it
    (`MDP_MONITORING` for monitoring.weeks) or a key inside it (`MDP_WAREHOUSE__TYPE` for warehouse)."""
    path = [str(part).upper() for part in loc]
    found = []
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        parts = upper.removeprefix(ENV_PREFIX).split("__")
        shared = min(len(parts), len(path))
        if shared and parts[:shared] == path[:shared]:
            found.append(name)
    return max(found, key=len) if found else None


def problems_message(problems: Sequence[tuple[str, str | None]], source: Path | str | None) -> str:
    """Several problems on one line: `invalid configuration in FILE: a.b: ...; c: ...`, or, when one `MDP_*`
    variable is the source of them all, `invalid configuration in environment variable MDP_X: ...`."""
    variables = {variable for _, variable in problems}
    if len(variables) == 1 and None not in variables:
        (variable,) = variables
        overrides = f" (it overrides {source})" if source else ""
        text = f"invalid configuration in environment variable {variable}: " + "; ".join(t for t, _ in problems)
        return one_line(text + overrides)
    listed = "; ".join(t + (f" (from environment variable {v})" if v else "") for t, v in problems)
    return one_line(f"invalid configuration in {source or 'the configuration'}: {listed}")


def validation_message(exc: ValidationError, source: Path | str | None, prefix: Sequence[int | str] = ()) -> str:
    """A one-line, secret-free account of a validation error: file or variable, key paths, what was expected."""
    return problems_message([_describe(err, prefix) for err in exc.errors(include_url=False)], source)


def environment_message(exc: SettingsError, source: Path | str | None) -> str:
    """One line naming the `MDP_*` variable that is not valid JSON, its key path and where JSON breaks."""
    found = re.search(r'field "([^"]+)"', str(exc))
    field = (found.group(1) if found else "").upper()
    overrides = f" (it overrides {source})" if source else ""
    for name, value in sorted(os.environ.items()):
        upper = name.upper()
        if upper != ENV_PREFIX + field and not upper.startswith(f"{ENV_PREFIX}{field}__"):
            continue
        try:
            json.loads(value)
        except json.JSONDecodeError as error:
            parts = [int(p) if p.isdecimal() else p.lower() for p in upper.removeprefix(ENV_PREFIX).split("__")]
            return (
                f"invalid configuration in environment variable {name}: {format_location(parts)}: not valid JSON "
                f"({error.msg} at line {error.lineno}, column {error.colno}){overrides}"
            )
    cause = exc.__cause__ or exc
    return f"invalid configuration in an environment variable {ENV_PREFIX}{field}*: {cause}{overrides}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                raise yaml.constructor.ConstructorError(
                    None, None, f"a key must be text, not a {type(key).__name__}", key_node.start_mark
                )
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (the later one would silently win)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: Path | str | None = None) -> PipelineConfig:
    """Read, override from the environment and validate `pipeline.yaml`.

    Raises:
        ConfigError: one line naming the file (or `MDP_*` variable), the key path and what was expected.
    """
    try:
        source = Path(path).expanduser() if path is not None else default_config_path()
    except RuntimeError as exc:  # ~user that does not exist
        raise ConfigError(one_line(f"configuration file not found: {path} ({exc})")) from None
    if not source.is_file():
        raise ConfigError(one_line(f"configuration file not found: {source}"))
    return config_from_mapping(_read_yaml(source), source)


def _read_yaml(source: Path) -> dict[str, Any]:
    """The file's top-level mapping; a file that cannot be read, is not UTF-8, not YAML or not a mapping
    is refused naming the line."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise ConfigError(one_line(f"cannot read the configuration file {source}: {exc.strerror}")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            one_line(
                f"invalid configuration in {source} at line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                "save the file as UTF-8"
            )
        ) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.reader.ReaderError as exc:  # a control character: the reader gives a position, not a mark
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ConfigError(
            f"invalid configuration in {source} at line {line}, column {column}: "
            f"character #x{exc.character:04x} is not allowed in YAML"
            if isinstance(exc.character, int)
            else f"invalid configuration in {source} at line {line}, column {column}: {exc.reason}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(one_line(f"invalid configuration in {source}{at}: {problem}")) from None
    except RecursionError:
        raise ConfigError(f"invalid configuration in {source}: nested too deeply to be a configuration") from None
    if data is None:
        raise ConfigError(
            f"invalid configuration in {source}: the file is empty; start from the project's pipeline.yaml "
            "(docs/configuration.md lists every key)"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"invalid configuration in {source}: expected a mapping of keys at the top level, got {type(data).__name__}"
        )
    return data


def config_from_mapping(data: Mapping[Any, Any], source: Path | None = None) -> PipelineConfig:
    """Validate an already-parsed configuration (environment overrides still apply).

    Only the model's own keys reach pydantic-settings: its `_`-prefixed keyword arguments (`_env_prefix`,
    `_cli_parse_args`, `_secrets_dir`, ...) would otherwise let a key of the file reconfigure the loader.
    """
    known = {key: value for key, value in data.items() if isinstance(key, str) and key in PipelineConfig.model_fields}
    unknown = [
        (
            f"{key if isinstance(key, str) else repr(key)}: unknown key (check the spelling; see the sample "
            "pipeline.yaml)",
            None,
        )
        for key in data
        if key not in known
    ]
    try:
        config = PipelineConfig(**known)
    except ValidationError as exc:
        problems = [_describe(err, ()) for err in exc.errors(include_url=False)]
        raise ConfigError(problems_message([*problems, *unknown], source)) from None
    except SettingsError as exc:  # an MDP_* variable pydantic-settings could not decode (broken JSON)
        raise ConfigError(one_line(environment_message(exc, source))) from None
    if unknown:
        raise ConfigError(problems_message(unknown, source))
    config._source = source.resolve() if source else None
    return config
