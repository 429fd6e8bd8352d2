"""The Reporting service's catalogue as the bingads SDK ships it (its bundled v13 WSDL: the report request types
and each one's <Report>Column enumeration, read once per process), and what the connector knows of the columns:
which are performance statistics, their types, and the column combinations Microsoft refuses."""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree

_XS = "{http://www.w3.org/2001/XMLSchema}"
# The Reporting service's WSDL inside the bingads package (the SDK's suds client reads the same file).
_WSDL = ("v13", "proxies", "production", "reporting_service.xml")

# How a performance statistic is typed in a raw table: a whole count (int64), an additive number (float64:
# conversions may be fractional), an amount (MONEY: Decimal, never a float), an amount that is an average or a
# ratio of amounts (MONEY, not additive), a ratio or percentage (float64, not additive, a trailing % dropped).
MetricKind = Literal["count", "number", "money", "money_rate", "ratio"]

_COUNTS = (
    "Impressions Clicks PhoneImpressions PhoneCalls LowQualityClicks LowQualityImpressions LowQualityGeneralClicks "
    "LowQualitySophisticatedClicks VideoViews VideoViewsAt25Percent VideoViewsAt50Percent VideoViewsAt75Percent "
    "CompletedVideoViews TotalWatchTimeInMS Assists Installs Downloads AppInstalls Purchases Subscriptions Sales "
    "NewCustomerCount AssistedClicks AssistedImpressions EligibleImpressions MissedImpressions PartnerImpressions "
    "TotalClicks"
)
_NUMBERS = (
    "Conversions ConversionsQualified AllConversions AllConversionsQualified ViewThroughConversions "
    "ViewThroughConversionsQualified LowQualityConversions LowQualityConversionsQualified NewCustomerConversions "
    "UnknownCustomerConversions AssistedConversions"
)
_MONEY = (
    "Spend Revenue AllRevenue ViewThroughRevenue NewCustomerRevenue UnknownCustomerRevenue NewCustomerSpend "
    "ExtendedCost NetRevenue"
)
_MONEY_RATES = (
    "AverageCpc AverageCpm AverageCPV CostPerConversion AllCostPerConversion CostPerAssist RevenuePerConversion "
    "RevenuePerAssist AllRevenuePerConversion CostPerSale RevenuePerSale CostPerInstall RevenuePerInstall "
    "CostPerDownload CPI CPP CPS NewCustomerCPA AvgTargetCPA TargetCPA Cpc CurrentMaxCpc ViewThroughCostPerConversion"
)
_RATIOS = (
    "Ctr ConversionRate AllConversionRate LowQualityClicksPercent LowQualityImpressionsPercent "
    "LowQualityConversionRate ReturnOnAdSpend AllReturnOnAdSpend Ptr AveragePosition ViewThroughRate "
    "VideoCompletionRate AverageWatchTimePerVideoView AverageWatchTimePerImpression PostClickDownloadRate "
    "PostClickInstallRate PostInstallPurchaseRate PostInstallSubscriptionRate NewCustomerConversionRate "
    "NewCustomerReturnOnAdSpend RelativeCtr TopImpressionRatePercent AbsoluteTopImpressionRatePercent BenchmarkCtr "
    "GrossReturnOnAdSpend NetReturnOnAdSpend ViewThroughConversionRate"
)
# Impression share statistics (ratios): the ones that exclude the restricted attributes below.
_IMPRESSION_SHARE = (
    "AbsoluteTopImpressionShareLostToBudgetPercent AbsoluteTopImpressionShareLostToRankPercent "
    "AbsoluteTopImpressionSharePercent AudienceImpressionLostToBudgetPercent AudienceImpressionLostToRankPercent "
    "AudienceImpressionSharePercent ClickSharePercent ExactMatchImpressionSharePercent "
    "ImpressionLostToBudgetPercent ImpressionLostToRankAggPercent ImpressionSharePercent "
    "ImpressionLostToRankPercent TopImpressionShareLostToBudgetPercent TopImpressionShareLostToRankPercent "
    "TopImpressionSharePercent RelativeCtr AbsoluteTopImpressionRatePercent TopImpressionRatePercent"
)


def _names(text: str) -> list[str]:
    return text.split()


IMPRESSION_SHARE: frozenset[str] = frozenset(_names(_IMPRESSION_SHARE))
METRIC_KINDS: dict[str, MetricKind] = {
    **dict.fromkeys(_names(_COUNTS), "count"),
    **dict.fromkeys(_names(_NUMBERS), "number"),
    **dict.fromkeys(_names(_MONEY), "money"),
    **dict.fromkeys(_names(_MONEY_RATES), "money_rate"),
    **dict.fromkeys(_names(_RATIOS), "ratio"),
    **dict.fromkeys(IMPRESSION_SHARE, "ratio"),
}
# Column restrictions (learn.microsoft.com/advertising/guides/reports#columnrestrictions): with any impression
# share statistic, Microsoft refuses these attribute columns in the same request (and the reverse).
RESTRICTED_WITH_SHARE: dict[str, frozenset[str]] = {
    "AccountPerformanceReportRequest": frozenset({"BidMatchType", "DeviceOS", "Goal", "GoalType", "TopVsOther"}),
    "AdGroupPerformanceReportRequest": frozenset({"BidMatchType", "DeviceOS", "Goal", "GoalType", "TopVsOther"}),
    "CampaignPerformanceReportRequest": frozenset(
        {
            "BidMatchType",
            "BudgetAssociationStatus",
            "BudgetName",
            "BudgetStatus",
            "DeviceOS",
            "Goal",
            "GoalType",
            "TopVsOther",
        }
    ),
}
# ... and with the audience impression share columns or RelativeCtr, these attributes (every report).
AUDIENCE_SHARE = frozenset(
    {
        "AudienceImpressionLostToBudgetPercent",
        "AudienceImpressionLostToRankPercent",
        "AudienceImpressionSharePercent",
        "RelativeCtr",
    }
)
RESTRICTED_WITH_AUDIENCE_SHARE = frozenset({"CustomerId", "CustomerName", "DeliveredMatchType"})
# A column the WSDL lists, not in METRIC_KINDS, whose name reads like a statistic: refused rather than landed as
# a text attribute (which would make it part of the row's key); new SDK columns need a type here first.
_STATISTIC_NAME = re.compile(
    r"(Impressions?|Clicks|Conversions?|Revenue|Spend|Cost|Cp[a-z]|CP[A-Z]|Rate|Percent|Ctr|Position|Views|"
    r"Installs|Downloads|Purchases|Subscriptions|Sales|Assists|Calls|Count|InMS)$"
)
# Attributes whose names read like statistics (quality score ratings such as "Above average").
_ATTRIBUTES_LIKE_STATISTICS = frozenset({"ExpectedCtr", "HistoricalExpectedCtr"})
# Columns the connector always requests itself: the day, the account (the unit of idempotence) and the currency.
KEY_COLUMNS = ("TimePeriod", "AccountId", "CurrencyCode")
# Aggregations the Reporting service offers; only Daily gives a row per (account, day), the unit every raw
# table is replaced by. Summary over a one-day request would be the same rows, but a chunk spans many days.
AGGREGATIONS = (
    "Summary",
    "Hourly",
    "Daily",
    "Weekly",
    "Monthly",
    "Yearly",
    "HourOfDay",
    "DayOfWeek",
    "WeeklyStartingMonday",
)


@dataclass(frozen=True)
class ReportType:
    """One report request type of the WSDL: its scope type and columns, and whether it takes Daily rows."""

    request_type: str
    scope_type: str
    columns: tuple[str, ...]
    daily: bool

    @property
    def name(self) -> str:
        return self.request_type.removesuffix("Request")

    @property
    def column_type(self) -> str:
        return self.name + "Column"


def wsdl_path() -> Path:
    """The Reporting service WSDL the installed bingads package bundles (found without importing the SDK, whose
    import parses another WSDL)."""
    spec = importlib.util.find_spec("bingads")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the bingads package is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *_WSDL)


@functools.cache
def report_types() -> dict[str, ReportType]:
    """Every report request type of the WSDL by request type name (read once per process)."""
    root = ElementTree.parse(wsdl_path()).getroot()  # noqa: S314 - the SDK's own bundled file
    enums = {
        node.get("name", ""): tuple(e.get("value", "") for e in node.iter(f"{_XS}enumeration"))
        for node in root.iter(f"{_XS}simpleType")
    }
    found: dict[str, ReportType] = {}
    for node in root.iter(f"{_XS}complexType"):
        extension = node.find(f"{_XS}complexContent/{_XS}extension")
        if extension is None or not extension.get("base", "").endswith(":ReportRequest"):
            continue
        elements = {e.get("name", ""): e.get("type", "").split(":")[-1] for e in extension.iter(f"{_XS}element")}
        name = node.get("name", "")
        columns = enums.get(elements.get("Columns", "").removeprefix("ArrayOf"), ())
        scope = elements.get("Scope", "")
        if not columns or not scope:
            continue
        daily = "Aggregation" in elements and "Time" in elements
        found[name] = ReportType(name, scope, columns, daily)
    return found


def is_statistic(column: str) -> bool:
    """Whether a report column is a performance statistic (typed metric), as opposed to an attribute."""
    if column in _ATTRIBUTES_LIKE_STATISTICS:
        return False
    return column in METRIC_KINDS or bool(_STATISTIC_NAME.search(column))


def snake_case(column: str) -> str:
    """`CampaignId` -> `campaign_id`, `AverageCPV` -> `average_cpv`, `VideoViewsAt25Percent` ->
    `video_views_at_25_percent`: word boundaries of the CamelCase name, lower-cased (deterministic)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])", "_", column)
    return spaced.lower()
