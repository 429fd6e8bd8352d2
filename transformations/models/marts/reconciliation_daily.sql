{#- What landed against what the platform itself reports, per channel x account x day x metric, in the
    account currency. Landed = the ad-level rows of the channel's primary stream as the marts read them
    (int_ad_performance_unioned: Google's campaign-level rows for spend without ads included); platform = the
    account's own daily totals (each connector's `account_totals` stream, its int_<channel>__account_totals
    model). A platform totals row exists for every day a run loaded (zero rows for days without activity), so a day
    without one was not reconciled: verdict `unchecked`. Tolerances: var reconciliation_tolerances. -#}
{%- set metrics = ['spend', 'conversion_value', 'impressions', 'clicks', 'conversions'] -%}
{%- set tolerances = var('reconciliation_tolerances') -%}

with

landed as (

    select
        channel,
        account_id,
        date_day,
        max(account_currency) as account_currency,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(conversions) as conversions,
        sum(conversion_value) as conversion_value

    from {{ ref('int_ad_performance_unioned') }}
    group by channel, account_id, date_day

),

platform as (

    {{ platform_totals() }}

),

joined as (

    select
        coalesce(platform.channel, landed.channel) as channel,
        coalesce(platform.account_id, landed.account_id) as account_id,
        coalesce(platform.date_day, landed.date_day) as date_day,
        coalesce(platform.account_currency, landed.account_currency) as account_currency,
        platform.date_day is not null as platform_reported,
        platform.spend as platform_spend,
        platform.conversion_value as platform_conversion_value,
        platform.impressions as platform_impressions,
        platform.clicks as platform_clicks,
        platform.conversions as platform_conversions,
        coalesce(landed.spend, 0) as landed_spend,
        coalesce(landed.conversion_value, 0) as landed_conversion_value,
        coalesce(landed.impressions, 0) as landed_impressions,
        coalesce(landed.clicks, 0) as landed_clicks,
        coalesce(landed.conversions, 0) as landed_conversions

    from platform
    full outer join landed
        on
            platform.channel = landed.channel
            and platform.account_id = landed.account_id
            and platform.date_day = landed.date_day

),

unpivoted as (

    {{ reconciled_metrics('joined', metrics, tolerances) }}

)

select
    date_day,
    channel,
    account_id,
    account_currency,
    metric,
    platform_value,
    landed_value,
    landed_value - platform_value as difference,
    tolerance,
    case
        when not platform_reported then 'unchecked'
        when abs(landed_value - platform_value) <= tolerance then 'ok'
        else 'mismatch'
    end as verdict
from unpivoted
