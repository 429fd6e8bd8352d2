"""TikTok Business API (v1.3) facts: paths, report queries, page size and the error codes' classes."""

from __future__ import annotations

from dataclasses import dataclass

API_VERSION = "v1.3"
BASE_URL = "https://business-api.tiktok.com"
ADVERTISER_GET_PATH = f"/open_api/{API_VERSION}/oauth2/advertiser/get/"
ADVERTISER_INFO_PATH = f"/open_api/{API_VERSION}/advertiser/info/"
REPORT_PATH = f"/open_api/{API_VERSION}/report/integrated/get/"
TOKEN_HEADER = "Access-Token"  # noqa: S105 - a header name, not a secret
MAX_PAGE_SIZE = 1000  # report/integrated/get page_size limit
MAX_REPORT_DAYS = 30  # the longest start_date..end_date of a daily (stat_time_day) report
ADVERTISER_INFO_FIELDS = ("advertiser_id", "name", "currency", "timezone", "display_timezone", "status")
ADVERTISER_INFO_BATCH = 100  # advertiser/info takes at most 100 advertiser_ids a call
INACTIVE_STATUSES = frozenset({"STATUS_DISABLE", "STATUS_LIMIT", "STATUS_CONFIRM_FAIL"})

# Return codes (the body's `code`; every answer is HTTP 200). Rate limits and system errors may pass; the rest
# stay. Codes 50000-51999 are TikTok system errors (retryable as a class).
RATE_LIMIT_CODES: dict[int, str] = {40100: "too many requests (QPS/QPM/QPD limit)"}
SYSTEM_ERROR_RANGE = range(50000, 52000)
TOKEN_CODES: dict[int, str] = {
    40101: "the app_id and secret pair is invalid",
    40102: "the access token has expired",
    40104: "the access token is empty",
    40105: "the access token is incorrect or revoked",
}
PERMISSION_CODES: dict[int, str] = {40001: "no permission for this advertiser or operation"}
PARAMETER_CODES: dict[int, str] = {40002: "a parameter is invalid"}


def is_retryable(code: int) -> bool:
    return code in RATE_LIMIT_CODES or code in SYSTEM_ERROR_RANGE


# The value metric: despite its name, total_complete_payment_rate is the total value of the "Complete Payment"
# events (purchases) the pixel or app reports; 0 where the advertiser tracks no value.
VALUE_METRIC = "total_complete_payment_rate"
METRICS = ("spend", "impressions", "clicks", "conversion", VALUE_METRIC)


@dataclass(frozen=True)
class ReportQuery:
    """One report stream: report type, data level, dimensions (the row key) and metrics (attributes too)."""

    report_type: str
    data_level: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]


REPORT_QUERIES: dict[str, ReportQuery] = {
    "ad_performance": ReportQuery(
        "BASIC",
        "AUCTION_AD",
        ("ad_id", "stat_time_day"),
        ("campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name", *METRICS),
    ),
    # Audience reports: the campaign's rows split by country (ISO code) and by placement (TikTok, Pangle, ...).
    "country_performance": ReportQuery(
        "AUDIENCE",
        "AUCTION_CAMPAIGN",
        ("campaign_id", "country_code", "stat_time_day"),
        ("campaign_name", *METRICS),
    ),
    "placement_performance": ReportQuery(
        "AUDIENCE",
        "AUCTION_CAMPAIGN",
        ("campaign_id", "placement", "stat_time_day"),
        ("campaign_name", *METRICS),
    ),
    # The advertiser's own daily totals, for the reconciliation.
    "account_totals": ReportQuery("BASIC", "AUCTION_ADVERTISER", ("advertiser_id", "stat_time_day"), METRICS),
}
