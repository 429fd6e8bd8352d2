"""The raw Meta Ads tables, one per stream, declared once (extraction, loading, docs and the dbt source check
use them)."""

from __future__ import annotations

import pyarrow as pa

from connectors.kit.schema import MONEY, TIMESTAMP, Columns, table_spec
from mdp.schema import TableSpec

AD_INSIGHTS_COLUMNS: Columns = {
    "date": (pa.date32(), False, "date_start of the daily insight (time_increment=1), account time zone"),
    "account_id": (pa.string(), False, "ad account id, digits only (without the 'act_' prefix)"),
    "account_name": (pa.string(), True, "ad account name"),
    "account_currency": (
        pa.string(),
        True,
        "ad account currency (ISO 4217): the currency of spend and values",
    ),
    "account_timezone": (pa.string(), True, "ad account timezone_name (IANA)"),
    "campaign_id": (pa.string(), False, "campaign id"),
    "campaign_name": (pa.string(), True, "campaign name"),
    "adset_id": (pa.string(), False, "ad set id"),
    "adset_name": (pa.string(), True, "ad set name"),
    "ad_id": (pa.string(), False, "ad id"),
    "ad_name": (pa.string(), True, "ad name"),
    "impressions": (pa.int64(), False, "impressions"),
    "clicks": (pa.int64(), False, "clicks (all)"),
    "spend": (MONEY, False, "spend in the account currency"),
    "reach": (pa.int64(), True, "reach (people; not additive across days)"),
    "actions": (pa.string(), True, "the insights 'actions' list kept whole as JSON ([{action_type, value}])"),
    "action_values": (pa.string(), True, "the insights 'action_values' list kept whole as JSON"),
    "conversions": (
        pa.float64(),
        False,
        "conversions from 'actions' by the connector's conversion rule (conversion_action_types combined by "
        "conversion_aggregation: first_match or sum; docs/metrics.md)",
    ),
    "conversion_value": (
        MONEY,
        False,
        "conversion value in the account currency from 'action_values' by the same rule, exact (decimal)",
    ),
}


def _table(name: str, columns: Columns, date_column: str, cluster: str, description: str) -> TableSpec:
    cluster_by = ("account_id", cluster)
    return table_spec(
        f"raw_meta_ads.{name}", columns, date_column=date_column, cluster_by=cluster_by, description=description
    )


AD_INSIGHTS = _table(
    "ad_insights",
    AD_INSIGHTS_COLUMNS,
    "date",
    "campaign_id",
    "Meta Ads daily insights at ad level (one row per day x ad account x campaign x ad set x ad).",
)

_CAMPAIGN_KEYS: Columns = {
    "date": (pa.date32(), False, "date_start of the daily insight (time_increment=1), account time zone"),
    "account_id": AD_INSIGHTS_COLUMNS["account_id"],
    "account_currency": AD_INSIGHTS_COLUMNS["account_currency"],
    "campaign_id": AD_INSIGHTS_COLUMNS["campaign_id"],
    "campaign_name": (pa.string(), True, "campaign name as it is when the report is read (renames restate it)"),
}
_METRICS: Columns = {
    "impressions": AD_INSIGHTS_COLUMNS["impressions"],
    "clicks": AD_INSIGHTS_COLUMNS["clicks"],
    "spend": AD_INSIGHTS_COLUMNS["spend"],
    "reach": (
        pa.int64(),
        True,
        "reach (people) of the campaign in this segment and day; not additive across segments, days or campaigns",
    ),
    "conversions": AD_INSIGHTS_COLUMNS["conversions"],
    "conversion_value": AD_INSIGHTS_COLUMNS["conversion_value"],
    "actions": AD_INSIGHTS_COLUMNS["actions"],
    "action_values": AD_INSIGHTS_COLUMNS["action_values"],
}

# Breakdown columns of each breakdown stream, by stream (the Graph breakdown name is the column name).
BREAKDOWN_COLUMNS: dict[str, Columns] = {
    "country_insights": {
        "country": (pa.string(), False, "country of the audience (ISO 3166-1 alpha-2, or 'unknown')"),
    },
    "region_insights": {
        "region": (
            pa.string(),
            False,
            "region (state, province) by name as Meta returns it, e.g. 'Île-de-France', 'California'; Meta "
            "returns no country with it (the region breakdown cannot be combined with country)",
        ),
    },
    "platform_insights": {
        "publisher_platform": (
            pa.string(),
            False,
            "where the ad ran: facebook, instagram, audience_network, messenger",
        ),
        "platform_position": (
            pa.string(),
            False,
            "placement within the platform, e.g. feed, facebook_stories, instagram_reels, right_hand_column, "
            "an_classic",
        ),
    },
    "device_insights": {
        "device_platform": (pa.string(), False, "device the ad was seen on: mobile_app, mobile_web, desktop"),
    },
    "age_gender_insights": {
        "age": (pa.string(), False, "age bracket: 18-24, 25-34, 35-44, 45-54, 55-64, 65+ (or Unknown)"),
        "gender": (pa.string(), False, "gender: female, male, unknown"),
    },
}
_BREAKDOWN_DESCRIPTIONS = {
    "country_insights": "country",
    "region_insights": "region",
    "platform_insights": "publisher platform x platform position",
    "device_insights": "device platform",
    "age_gender_insights": "age x gender",
}
BREAKDOWN_TABLES: dict[str, TableSpec] = {
    stream: _table(
        stream,
        {**_CAMPAIGN_KEYS, **columns, **_METRICS},
        "date",
        "campaign_id",
        f"Meta Ads daily campaign insights by {_BREAKDOWN_DESCRIPTIONS[stream]} (level=campaign, breakdowns="
        f"{','.join(columns)}): one row per day x ad account x campaign x {' x '.join(columns)}. Impressions, "
        "clicks, spend and actions add up to the campaign's totals; reach does not.",
    )
    for stream, columns in BREAKDOWN_COLUMNS.items()
}

ACTION_INSIGHTS = _table(
    "action_insights",
    {
        "date": _CAMPAIGN_KEYS["date"],
        "account_id": AD_INSIGHTS_COLUMNS["account_id"],
        "campaign_id": AD_INSIGHTS_COLUMNS["campaign_id"],
        "action_type": (pa.string(), False, "the action type (purchase, lead, link_click, add_to_cart, ...)"),
        "attribution_window": (
            pa.string(),
            False,
            "'default' = the account's unified attribution setting (Graph's `value`, what Ads Manager and "
            "ad_insights show); else the window asked for (action_attribution_windows), e.g. 1d_click, 7d_click, "
            "1d_view",
        ),
        "actions": (pa.float64(), False, "count of the action type in that window (0 when Graph omits it)"),
        "action_value": (
            pa.float64(),
            True,
            "value of the action type in that window (account currency), from action_values; null when Meta "
            "reports no value for the type",
        ),
    },
    "date",
    "campaign_id",
    "Meta Ads daily actions by campaign, action type and attribution window (level=campaign, "
    "action_breakdowns=action_type, action_attribution_windows): long format, one row per day x ad account x "
    "campaign x action type x attribution window.",
)

ACCOUNT_TOTALS = _table(
    "account_totals",
    {
        "date": _CAMPAIGN_KEYS["date"],
        "account_id": AD_INSIGHTS_COLUMNS["account_id"],
        "account_currency": (
            pa.string(),
            True,
            "ad account currency (ISO 4217); null on a day Graph returned no row for (zero activity)",
        ),
        **{
            name: (kind, null, f"{doc}: the account's own total of the day (0 when Graph returned no row)")
            for name, (kind, null, doc) in _METRICS.items()
            if name not in ("reach", "actions", "action_values")
        },
        **{
            name: (kind, null, f"{doc}, at account level (null when Graph returned no row)")
            for name, (kind, null, doc) in _METRICS.items()
            if name in ("actions", "action_values")
        },
    },
    "date",
    "account_id",
    "Meta Ads daily totals of each ad account as Graph reports them (level=account, the same attribution setting "
    "and action lists as ad_insights): one row per day x ad account, a zero row for a day without activity. The "
    "reconciliation compares ad_insights with them.",
)

_SNAPSHOT_KEYS: Columns = {
    "snapshot_date": (
        pa.date32(),
        False,
        "the day the snapshot stands for (the latest complete day of the run): the state as the API returned it then",
    ),
    "account_id": AD_INSIGHTS_COLUMNS["account_id"],
}
_STATUS: Columns = {
    "status": (pa.string(), True, "configured status: ACTIVE, PAUSED, ARCHIVED, DELETED"),
    "effective_status": (
        pa.string(),
        True,
        "effective status, with the parents' state: ACTIVE, PAUSED, CAMPAIGN_PAUSED, ADSET_PAUSED, ...",
    ),
}
_BUDGETS: Columns = {
    "account_currency": AD_INSIGHTS_COLUMNS["account_currency"],
    "daily_budget": (
        MONEY,
        True,
        "daily budget in account currency units (Graph's minor units divided by the currency offset: 100, or 1 "
        "for zero-decimal currencies such as JPY); null when not set at this level",
    ),
    "lifetime_budget": (MONEY, True, "lifetime budget in account currency units, like daily_budget"),
}

CAMPAIGN_SNAPSHOT = _table(
    "campaign_snapshot",
    {
        **_SNAPSHOT_KEYS,
        "id": (pa.string(), False, "campaign id"),
        "name": (pa.string(), True, "campaign name on the snapshot day"),
        **_STATUS,
        "objective": (pa.string(), True, "campaign objective (OUTCOME_SALES, OUTCOME_LEADS, ...)"),
        **_BUDGETS,
        "bid_strategy": (pa.string(), True, "bid strategy (LOWEST_COST_WITHOUT_CAP, COST_CAP, ...)"),
        "start_time": (TIMESTAMP, True, "campaign start time (UTC)"),
        "stop_time": (TIMESTAMP, True, "campaign stop time (UTC); null when open-ended"),
        "created_time": (TIMESTAMP, True, "when the campaign was created (UTC)"),
        "updated_time": (TIMESTAMP, True, "when the campaign was last changed (UTC)"),
    },
    "snapshot_date",
    "id",
    "Meta Ads campaigns as the API returned them on the snapshot day (act_<id>/campaigns): one row per "
    "snapshot day x ad account x campaign.",
)
ADSET_SNAPSHOT = _table(
    "adset_snapshot",
    {
        **_SNAPSHOT_KEYS,
        "id": (pa.string(), False, "ad set id"),
        "name": (pa.string(), True, "ad set name on the snapshot day"),
        "campaign_id": (pa.string(), True, "campaign of the ad set"),
        **_STATUS,
        **_BUDGETS,
        "optimization_goal": (pa.string(), True, "what delivery optimises for (OFFSITE_CONVERSIONS, LINK_CLICKS, ...)"),
        "billing_event": (pa.string(), True, "what is billed (IMPRESSIONS, LINK_CLICKS, ...)"),
        "targeting_countries": (
            pa.string(),
            True,
            "targeting.geo_locations.countries as a JSON list of ISO-2 codes; null when the targeting names none",
        ),
    },
    "snapshot_date",
    "id",
    "Meta Ads ad sets as the API returned them on the snapshot day (act_<id>/adsets): one row per snapshot "
    "day x ad account x ad set.",
)
AD_SNAPSHOT = _table(
    "ad_snapshot",
    {
        **_SNAPSHOT_KEYS,
        "id": (pa.string(), False, "ad id"),
        "name": (pa.string(), True, "ad name on the snapshot day"),
        "adset_id": (pa.string(), True, "ad set of the ad"),
        "campaign_id": (pa.string(), True, "campaign of the ad"),
        **_STATUS,
        "creative_id": (pa.string(), True, "the ad's creative (creative.id)"),
    },
    "snapshot_date",
    "id",
    "Meta Ads ads as the API returned them on the snapshot day (act_<id>/ads): one row per snapshot day x ad "
    "account x ad.",
)
CREATIVE_SNAPSHOT = _table(
    "creative_snapshot",
    {
        **_SNAPSHOT_KEYS,
        "id": (pa.string(), False, "creative id"),
        "name": (pa.string(), True, "creative name"),
        "object_type": (pa.string(), True, "creative type (SHARE, VIDEO, PHOTO, ...)"),
        "link_url": (
            pa.string(),
            True,
            "landing page: object_story_spec.link_data.link, else the first asset_feed_spec.link_urls website_url",
        ),
        "url_tags": (
            pa.string(),
            True,
            "query string Meta appends to the link, e.g. utm_source=facebook&utm_medium=paid_social&utm_campaign=..., "
            "its dynamic parameters (campaign.name, adset.name, ad.name in double braces) unexpanded",
        ),
        "title": (pa.string(), True, "headline (title, else link_data.name, else the first asset feed title)"),
        "body": (pa.string(), True, "primary text (body, else link_data.message, else the first asset feed body)"),
    },
    "snapshot_date",
    "id",
    "Meta Ads ad creatives as the API returned them on the snapshot day (act_<id>/adcreatives): one row per "
    "snapshot day x ad account x creative.",
)

SNAPSHOT_TABLES: dict[str, TableSpec] = {
    "campaign_snapshot": CAMPAIGN_SNAPSHOT,
    "adset_snapshot": ADSET_SNAPSHOT,
    "ad_snapshot": AD_SNAPSHOT,
    "creative_snapshot": CREATIVE_SNAPSHOT,
}
