"""`custom_reports` (a Reporting service report of the user's columns, landed as raw_microsoft_ads.custom_<name>)
and passthrough fields (extra AdPerformanceReport statistics on ad_performance), validated against the report
types and column enumerations of the WSDL the bingads SDK bundles (connectors.microsoft_ads.api)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Annotated

import pyarrow as pa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from connectors.kit.custom import CUSTOM_NAME_PATTERN, RESERVED, CustomColumn, column_name, passthrough_column
from connectors.kit.schema import MONEY
from connectors.microsoft_ads.api import (
    AGGREGATIONS,
    AUDIENCE_SHARE,
    IMPRESSION_SHARE,
    KEY_COLUMNS,
    METRIC_KINDS,
    RESTRICTED_WITH_AUDIENCE_SHARE,
    RESTRICTED_WITH_SHARE,
    MetricKind,
    ReportType,
    is_statistic,
    report_types,
    snake_case,
)
from mdp.errors import ConfigError

_COLUMN_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9]{0,99}")
_TYPE_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9]{0,99}")
# The ad performance stream's own report, which passthrough fields extend.
PASSTHROUGH_REPORT = "AdPerformanceReportRequest"
_ARROW: dict[MetricKind, pa.DataType] = {
    "count": pa.int64(),
    "number": pa.float64(),
    "money": MONEY,
    "money_rate": MONEY,
    "ratio": pa.float64(),
}


def _shown(value: str) -> str:
    """A user's value quoted for an error line: escapes for line breaks and a note on non-ASCII look-alikes."""
    if value.isascii():
        return repr(value)
    return f"{value!a} (non-ASCII characters: column names are ASCII)"


def _near(value: str, choices: Iterable[str]) -> str:
    near = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    if not near:
        lowered = {c.lower(): c for c in choices}
        near = [lowered[value.lower()]] if value.lower() in lowered else []
    return f" (did you mean {near[0]!r}?)" if near else ""


def report_type_of(value: str) -> ReportType:
    """The WSDL's report request type a user names: `CampaignPerformance`, `CampaignPerformanceReport` or
    `CampaignPerformanceReportRequest`.

    Raises:
        ValueError: not a name, an unknown type (with a did-you-mean), or a type without daily rows.
    """
    if not isinstance(value, str) or not _TYPE_SYNTAX.fullmatch(value):
        raise ValueError(f"{_shown(str(value))} is not a report type name (e.g. CampaignPerformance)")
    types = report_types()
    base = value.removesuffix("Request").removesuffix("Report")
    found = types.get(base + "ReportRequest")
    if found is None:
        short = [t.removesuffix("ReportRequest") for t in types]
        raise ValueError(f"unknown report type {value!r}{_near(base, short)}")
    if not found.daily:
        raise ValueError(
            f"report type {value!r} has no Aggregation or Time period in the Reporting service, so it has no daily "
            "rows to land per (account, day)"
        )
    return found


def _check_column(value: str, info: ValidationInfo) -> str:
    """One entry of `columns`: a column of the report type's enumeration (checked once the type is valid)."""
    if not isinstance(value, str) or not _COLUMN_SYNTAX.fullmatch(value):
        hint = " (one column per list item)" if isinstance(value, str) and "," in value else ""
        raise ValueError(f"{_shown(str(value))} is not a report column name{hint}")
    request_type = (info.data or {}).get("report_type")
    if request_type is None:  # the type itself was refused: its error says so
        return value
    report = report_types()[request_type]
    if value not in report.columns:
        raise ValueError(f"unknown column {value!r} of {report.name}{_near(value, report.columns)}")
    if value in METRIC_KINDS or not is_statistic(value):
        return value
    raise ValueError(f"column {value!r} is a statistic the connector has no type for yet; leave it out")


class CustomReport(BaseModel):
    """One `custom_reports` entry: a Reporting service report of the columns listed, one row per day and the
    listed attribute columns. TimePeriod, AccountId and CurrencyCode are always requested (the row's day,
    account and account_currency); listing them is allowed and changes nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=CUSTOM_NAME_PATTERN, description="the raw table is raw_microsoft_ads.custom_<name>")
    report_type: str = Field(description="the report request type, e.g. CampaignPerformance")
    aggregation: str = Field("Daily", description="Daily: one row per (account, day) and attribute values")
    columns: list[Annotated[str, AfterValidator(_check_column)]] = Field(
        min_length=1, description="the report's column names, e.g. [CampaignId, Network, Spend, Clicks]"
    )

    @field_validator("report_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        return report_type_of(value).request_type

    @field_validator("aggregation")
    @classmethod
    def _daily(cls, value: str) -> str:
        if value == "Daily":
            return value
        if value in AGGREGATIONS:
            raise ValueError(
                f"{value!r} is refused: every raw table is replaced per (account, day), so only Daily rows land "
                "(aggregate other periods in dbt)"
            )
        raise ValueError(f"unknown aggregation {_shown(value)}{_near(value, AGGREGATIONS)}; use Daily")

    @model_validator(mode="after")
    def _combination(self) -> CustomReport:
        listed = [c for c in self.columns if c not in KEY_COLUMNS]
        seen: set[str] = set()
        for column in self.columns:
            if column in seen:
                raise ValueError(f"columns: {column!r} is listed twice")
            seen.add(column)
        statistics = [c for c in listed if is_statistic(c)]
        if not [c for c in statistics if c not in IMPRESSION_SHARE]:
            raise ValueError(
                "columns: Microsoft requires at least one performance statistic other than impression share "
                "(e.g. Impressions, Clicks, Spend)"
            )
        restricted = RESTRICTED_WITH_SHARE.get(self.report_type, frozenset())
        shares = sorted(set(listed) & IMPRESSION_SHARE)
        clash = sorted(set(listed) & restricted)
        if shares and clash:
            raise ValueError(
                f"columns: Microsoft refuses impression share columns ({', '.join(shares)}) with {', '.join(clash)} "
                "in the same report; keep one side"
            )
        audience = sorted(set(listed) & AUDIENCE_SHARE)
        clash = sorted(set(listed) & RESTRICTED_WITH_AUDIENCE_SHARE)
        if audience and clash:
            raise ValueError(
                f"columns: Microsoft refuses {', '.join(audience)} with {', '.join(clash)} in the same report; "
                "keep one side"
            )
        names: dict[str, str] = {}
        for column in listed:
            name = column_name(snake_case(column))
            if name in RESERVED:
                raise ValueError(f"columns: {column!r} would be column {name!r}, which every custom table has")
            if name in names:
                raise ValueError(f"columns: {names[name]!r} and {column!r} would both be column {name!r}; keep one")
            names[name] = column
        return self

    @property
    def report(self) -> ReportType:
        return report_types()[self.report_type]

    @property
    def requested(self) -> tuple[str, ...]:
        """The columns sent in the request, in the report's order: TimePeriod, AccountId, CurrencyCode, then the
        user's columns as listed."""
        return (*KEY_COLUMNS, *(c for c in self.columns if c not in KEY_COLUMNS))


def check_unique_names(reports: Sequence[CustomReport]) -> list[CustomReport]:
    """Two custom reports may not land in the same table."""
    seen: set[str] = set()
    for report in reports:
        if report.name in seen:
            raise ValueError(f"two custom reports are named {report.name!r}; the table name must be unique")
        seen.add(report.name)
    return list(reports)


def custom_columns(report: CustomReport) -> tuple[CustomColumn, ...]:
    """The raw columns of a custom report: an attribute -> a string dimension (part of the row's key, since a
    Daily report's rows are grouped by its attribute columns); a statistic -> its type (counts int64, amounts
    MONEY, ratios and averages not additive)."""
    out: list[CustomColumn] = []
    for column in report.requested[len(KEY_COLUMNS) :]:
        name = column_name(snake_case(column))
        kind = METRIC_KINDS.get(column)
        if kind is None:
            out.append(CustomColumn(column, pa.string(), "dimension", doc=f"{column} (report attribute)", name=name))
            continue
        out.append(
            CustomColumn(
                column,
                _ARROW[kind],
                "metric",
                doc=f"{column} ({_kind_doc(kind)})",
                name=name,
                money=kind in ("money", "money_rate"),
                additive=kind in ("count", "number", "money"),
            )
        )
    return tuple(out)


def _kind_doc(kind: MetricKind) -> str:
    return {
        "count": "count",
        "number": "additive number",
        "money": "amount in the account currency",
        "money_rate": "average amount in the account currency; not additive",
        "ratio": "ratio or percentage as the report writes it; not additive",
    }[kind]


def passthrough_columns(fields: Sequence[str], built_in: Sequence[str]) -> tuple[CustomColumn, ...]:
    """The pt_<field> columns of passthrough fields on ad_performance: each a statistic of the
    AdPerformanceReport the connector can type and does not already request (`built_in`).

    Raises:
        ConfigError: one line naming `metrics` and the field.
    """
    report = report_types()[PASSTHROUGH_REPORT]
    statistics = [c for c in report.columns if c in METRIC_KINDS]
    out: list[CustomColumn] = []
    for field in fields:
        prefix = f"invalid configuration: metrics: Microsoft Ads field {_shown(str(field))}"
        if not isinstance(field, str) or not _COLUMN_SYNTAX.fullmatch(field):
            raise ConfigError(f"{prefix} is not an AdPerformanceReport column name")
        if field not in report.columns:
            raise ConfigError(f"{prefix} is not an AdPerformanceReport column{_near(field, statistics)}")
        kind = METRIC_KINDS.get(field)
        if kind is None:
            raise ConfigError(
                f"{prefix} is an attribute, not a performance statistic: it would split the ad rows "
                "(use custom_reports for it)"
            )
        if field in built_in:
            raise ConfigError(f"{prefix} is already a column of ad_performance")
        column = passthrough_column(
            field, _ARROW[kind], money=kind in ("money", "money_rate"), doc=f"{field} ({_kind_doc(kind)})"
        )
        out.append(column if kind in ("count", "number", "money") else replace(column, additive=False))
    return tuple(out)
