"""The raw Google Ads table, declared once (extraction, loading, docs and the dbt source check use it)."""

from __future__ import annotations

import pyarrow as pa

from connectors.kit.schema import Columns, table_spec
from mdp.schema import TableSpec

AD_PERFORMANCE_COLUMNS: Columns = {
    # name: (type, nullable, description)
    "date": (pa.date32(), False, "segments.date: the day, in the account's time zone"),
    "customer_id": (pa.string(), False, "customer.id: the Google Ads account (10 digits, no dashes)"),
    "customer_name": (pa.string(), True, "customer.descriptive_name"),
    "currency_code": (pa.string(), True, "customer.currency_code (ISO 4217): the currency of cost and value"),
    "account_timezone": (pa.string(), True, "customer.time_zone (IANA)"),
    "campaign_id": (pa.string(), False, "campaign.id"),
    "campaign_name": (pa.string(), True, "campaign.name"),
    "campaign_status": (pa.string(), True, "campaign.status (ENABLED, PAUSED, REMOVED)"),
    "campaign_channel_type": (
        pa.string(),
        True,
        "campaign.advertising_channel_type (SEARCH, PERFORMANCE_MAX, ...)",
    ),
    "ad_group_id": (pa.string(), True, "ad_group.id; null on campaign-level rows"),
    "ad_group_name": (pa.string(), True, "ad_group.name; null on campaign-level rows"),
    "ad_id": (pa.string(), True, "ad_group_ad.ad.id; null on campaign-level rows"),
    "row_level": (
        pa.string(),
        False,
        "'ad' for ad_group_ad rows; 'campaign' for spend a campaign carries without ad rows "
        "(Performance Max and similar), so that cost sums to the account total",
    ),
    "impressions": (pa.int64(), False, "metrics.impressions"),
    "clicks": (pa.int64(), False, "metrics.clicks"),
    "cost_micros": (pa.int64(), False, "metrics.cost_micros: cost in millionths of the account currency"),
    "conversions": (pa.float64(), False, "metrics.conversions (restated as conversions arrive late)"),
    "conversions_value": (pa.float64(), False, "metrics.conversions_value, in the account currency"),
    "view_through_conversions": (pa.int64(), False, "metrics.view_through_conversions"),
}

AD_PERFORMANCE = table_spec(
    "raw_google_ads.ad_performance",
    AD_PERFORMANCE_COLUMNS,
    account_column="customer_id",
    cluster_by=("customer_id", "campaign_id"),
    description="Google Ads daily performance per account, campaign, ad group and ad (one row per "
    "day x customer x campaign x ad group x ad, plus campaign-level rows for spend without ads).",
)

_ACCOUNT: Columns = {"customer_id": AD_PERFORMANCE_COLUMNS["customer_id"]}
_DAY: Columns = {"date": AD_PERFORMANCE_COLUMNS["date"]}
_SNAPSHOT_DAY: Columns = {
    "snapshot_date": (
        pa.date32(),
        False,
        "the day the snapshot was taken (the latest complete day of the run): entities as the API returned them",
    )
}
_CAMPAIGN: Columns = {
    "campaign_id": (pa.string(), False, "campaign.id"),
    "campaign_name": (
        pa.string(),
        True,
        "campaign.name, as it is now (the API reports past days under the current name)",
    ),
}
_METRICS: Columns = {
    "impressions": (pa.int64(), False, "metrics.impressions"),
    "clicks": (pa.int64(), False, "metrics.clicks"),
    "cost_micros": (pa.int64(), False, "metrics.cost_micros: cost in millionths of the account currency"),
    "conversions": (pa.float64(), False, "metrics.conversions (primary conversion actions; restated as they arrive)"),
    "conversions_value": (pa.float64(), False, "metrics.conversions_value, in the account currency"),
}

KEYWORD_PERFORMANCE_COLUMNS: Columns = {
    **_DAY,
    **_ACCOUNT,
    **_CAMPAIGN,
    "ad_group_id": (pa.string(), False, "ad_group.id"),
    "ad_group_name": (pa.string(), True, "ad_group.name, as it is now"),
    "criterion_id": (pa.string(), False, "ad_group_criterion.criterion_id: the keyword (unique within its ad group)"),
    "keyword_text": (pa.string(), True, "ad_group_criterion.keyword.text"),
    "match_type": (pa.string(), True, "ad_group_criterion.keyword.match_type (EXACT, PHRASE, BROAD)"),
    **_METRICS,
}
SEARCH_TERM_PERFORMANCE_COLUMNS: Columns = {
    **_DAY,
    **_ACCOUNT,
    "campaign_id": _CAMPAIGN["campaign_id"],
    "ad_group_id": (pa.string(), False, "ad_group.id"),
    "criterion_id": (
        pa.string(),
        True,
        "the keyword that matched the search term (segments.keyword.ad_group_criterion, its criterion id)",
    ),
    "keyword_text": (pa.string(), True, "segments.keyword.info.text: the text of the keyword that matched"),
    "search_term": (pa.string(), False, "search_term_view.search_term: what the user searched for"),
    "search_term_status": (
        pa.string(),
        True,
        "search_term_view.status: whether the term is also a keyword (ADDED, EXCLUDED, ADDED_EXCLUDED, NONE)",
    ),
    **_METRICS,
}
GEO_PERFORMANCE_COLUMNS: Columns = {
    **_DAY,
    **_ACCOUNT,
    **_CAMPAIGN,
    "country_criterion_id": (
        pa.string(),
        False,
        "geographic_view.country_criterion_id: the country's geo target constant id (e.g. 2250 France)",
    ),
    "country_code": (pa.string(), True, "ISO 3166-1 alpha-2 code of the country (geo_target_constant.country_code)"),
    "country_name": (pa.string(), True, "the country's name (geo_target_constant.name)"),
    "region_criterion_id": (
        pa.string(),
        True,
        "segments.geo_target_region: the region's geo target constant id; null when the API names no region",
    ),
    "region_name": (pa.string(), True, "the region's name (geo_target_constant.name)"),
    "location_type": (
        pa.string(),
        False,
        "geographic_view.location_type: LOCATION_OF_PRESENCE (the user was there) or AREA_OF_INTEREST "
        "(the user showed interest in it)",
    ),
    **_METRICS,
}
DEVICE_PERFORMANCE_COLUMNS: Columns = {
    **_DAY,
    **_ACCOUNT,
    **_CAMPAIGN,
    "device": (pa.string(), False, "segments.device (MOBILE, DESKTOP, TABLET, CONNECTED_TV, OTHER)"),
    **_METRICS,
}
CONVERSION_ACTION_PERFORMANCE_COLUMNS: Columns = {
    **_DAY,
    **_ACCOUNT,
    "campaign_id": _CAMPAIGN["campaign_id"],
    "conversion_action_id": (pa.string(), False, "segments.conversion_action: the conversion action's id"),
    "conversion_action_name": (pa.string(), True, "segments.conversion_action_name"),
    "conversion_action_category": (
        pa.string(),
        True,
        "segments.conversion_action_category (PURCHASE, SUBMIT_LEAD_FORM, PHONE_CALL_LEAD, STORE_VISIT, ...)",
    ),
    "conversions": (pa.float64(), False, "metrics.conversions of this action (0 unless it is a primary action)"),
    "conversions_value": (pa.float64(), False, "metrics.conversions_value of this action, in the account currency"),
    "all_conversions": (pa.float64(), False, "metrics.all_conversions: primary and secondary actions"),
    "all_conversions_value": (pa.float64(), False, "metrics.all_conversions_value, in the account currency"),
}
CAMPAIGN_SNAPSHOT_COLUMNS: Columns = {
    **_SNAPSHOT_DAY,
    **_ACCOUNT,
    "campaign_id": _CAMPAIGN["campaign_id"],
    "campaign_name": (pa.string(), True, "campaign.name"),
    "campaign_status": (pa.string(), True, "campaign.status (ENABLED, PAUSED, REMOVED)"),
    "advertising_channel_type": (pa.string(), True, "campaign.advertising_channel_type (SEARCH, PERFORMANCE_MAX, ...)"),
    "bidding_strategy_type": (
        pa.string(),
        True,
        "campaign.bidding_strategy_type (MAXIMIZE_CONVERSIONS, TARGET_ROAS, ...)",
    ),
    "budget_id": (pa.string(), True, "campaign_budget.id"),
    "budget_amount_micros": (pa.int64(), True, "campaign_budget.amount_micros: the budget per period, in micros"),
    "budget_period": (pa.string(), True, "campaign_budget.period (DAILY, CUSTOM_PERIOD)"),
    "start_date": (pa.date32(), True, "campaign.start_date_time, its day (account time zone)"),
    "end_date": (pa.date32(), True, "campaign.end_date_time, its day; 2037-12-30 means no end date"),
}
AD_GROUP_SNAPSHOT_COLUMNS: Columns = {
    **_SNAPSHOT_DAY,
    **_ACCOUNT,
    "ad_group_id": (pa.string(), False, "ad_group.id"),
    "ad_group_name": (pa.string(), True, "ad_group.name"),
    "ad_group_status": (pa.string(), True, "ad_group.status (ENABLED, PAUSED, REMOVED)"),
    "ad_group_type": (pa.string(), True, "ad_group.type (SEARCH_STANDARD, DISPLAY_STANDARD, ...)"),
    "campaign_id": _CAMPAIGN["campaign_id"],
    "cpc_bid_micros": (pa.int64(), True, "ad_group.cpc_bid_micros: the default max CPC bid, in micros"),
}
AD_SNAPSHOT_COLUMNS: Columns = {
    **_SNAPSHOT_DAY,
    **_ACCOUNT,
    "ad_id": (pa.string(), False, "ad_group_ad.ad.id"),
    "ad_group_id": (pa.string(), False, "ad_group.id"),
    "campaign_id": _CAMPAIGN["campaign_id"],
    "ad_status": (pa.string(), True, "ad_group_ad.status (ENABLED, PAUSED, REMOVED)"),
    "ad_type": (pa.string(), True, "ad_group_ad.ad.type (RESPONSIVE_SEARCH_AD, RESPONSIVE_DISPLAY_AD, ...)"),
    "ad_name": (pa.string(), True, "ad_group_ad.ad.name"),
    "final_urls": (pa.string(), True, "ad_group_ad.ad.final_urls as a JSON array of strings"),
    "final_url": (
        pa.string(),
        True,
        "the first of ad_group_ad.ad.final_urls: the landing page, UTM parameters included",
    ),
}
CUSTOMER_SNAPSHOT_COLUMNS: Columns = {
    **_SNAPSHOT_DAY,
    **_ACCOUNT,
    "customer_name": (pa.string(), True, "customer.descriptive_name"),
    "currency_code": (pa.string(), True, "customer.currency_code (ISO 4217)"),
    "account_timezone": (pa.string(), True, "customer.time_zone (IANA)"),
    "status": (pa.string(), True, "customer.status (ENABLED, CANCELED, SUSPENDED, CLOSED)"),
    "manager": (pa.bool_(), True, "customer.manager: whether the account is a manager (MCC)"),
}
ACCOUNT_TOTALS_COLUMNS: Columns = {
    **_DAY,
    **_ACCOUNT,
    "currency_code": (
        pa.string(),
        True,
        "customer.currency_code (ISO 4217); null on a day the API returned no row for (zero activity)",
    ),
    **{
        name: (kind, null, f"{doc}: the account's own total of the day (0 when the API returned no row)")
        for name, (kind, null, doc) in _METRICS.items()
    },
}


def _spec(stream: str, columns: Columns, date_column: str, description: str, cluster: tuple[str, ...]) -> TableSpec:
    return table_spec(
        f"raw_google_ads.{stream}",
        columns,
        account_column="customer_id",
        date_column=date_column,
        cluster_by=cluster,
        description=description,
    )


_BY_CAMPAIGN = ("customer_id", "campaign_id")
KEYWORD_PERFORMANCE = _spec(
    "keyword_performance",
    KEYWORD_PERFORMANCE_COLUMNS,
    "date",
    "Google Ads daily performance per keyword (keyword_view): one row per day x customer x ad group x keyword. "
    "Covers keyword-triggered Search traffic only, so it sums to less than the account total.",
    _BY_CAMPAIGN,
)
SEARCH_TERM_PERFORMANCE = _spec(
    "search_term_performance",
    SEARCH_TERM_PERFORMANCE_COLUMNS,
    "date",
    "Google Ads daily performance per search term (search_term_view, segmented by the matching keyword): one row "
    "per day x customer x ad group x keyword x search term. Terms below Google's privacy threshold are not reported.",
    _BY_CAMPAIGN,
)
GEO_PERFORMANCE = _spec(
    "geo_performance",
    GEO_PERFORMANCE_COLUMNS,
    "date",
    "Google Ads daily performance per campaign and location (geographic_view segmented by region): one row per "
    "day x customer x campaign x country x location type x region; names from geo_target_constant.",
    _BY_CAMPAIGN,
)
DEVICE_PERFORMANCE = _spec(
    "device_performance",
    DEVICE_PERFORMANCE_COLUMNS,
    "date",
    "Google Ads daily performance per campaign and device (campaign segmented by segments.device): one row per "
    "day x customer x campaign x device.",
    _BY_CAMPAIGN,
)
CONVERSION_ACTION_PERFORMANCE = _spec(
    "conversion_action_performance",
    CONVERSION_ACTION_PERFORMANCE_COLUMNS,
    "date",
    "Google Ads daily conversions per campaign and conversion action (campaign segmented by "
    "segments.conversion_action): one row per day x customer x campaign x action. No cost: the API cannot "
    "segment cost, clicks or impressions by conversion action.",
    _BY_CAMPAIGN,
)
CAMPAIGN_SNAPSHOT = _spec(
    "campaign_snapshot",
    CAMPAIGN_SNAPSHOT_COLUMNS,
    "snapshot_date",
    "Google Ads campaigns as the API returned them on the snapshot day (name, status, bidding, budget): one row "
    "per snapshot day x customer x campaign.",
    _BY_CAMPAIGN,
)
AD_GROUP_SNAPSHOT = _spec(
    "ad_group_snapshot",
    AD_GROUP_SNAPSHOT_COLUMNS,
    "snapshot_date",
    "Google Ads ad groups as the API returned them on the snapshot day: one row per snapshot day x customer x "
    "ad group.",
    _BY_CAMPAIGN,
)
AD_SNAPSHOT = _spec(
    "ad_snapshot",
    AD_SNAPSHOT_COLUMNS,
    "snapshot_date",
    "Google Ads ads as the API returned them on the snapshot day (status, type, name, landing pages): one row "
    "per snapshot day x customer x ad.",
    _BY_CAMPAIGN,
)
CUSTOMER_SNAPSHOT = _spec(
    "customer_snapshot",
    CUSTOMER_SNAPSHOT_COLUMNS,
    "snapshot_date",
    "The Google Ads account as the API returned it on the snapshot day: one row per snapshot day x customer.",
    ("customer_id",),
)
ACCOUNT_TOTALS = _spec(
    "account_totals",
    ACCOUNT_TOTALS_COLUMNS,
    "date",
    "Google Ads daily totals of each account as the API reports them (FROM customer, segmented by date): one row "
    "per day x customer, a zero row for a day without activity. The reconciliation compares the ad-level rows "
    "(with the campaign-level rows for spend without ads) with them.",
    ("customer_id",),
)
