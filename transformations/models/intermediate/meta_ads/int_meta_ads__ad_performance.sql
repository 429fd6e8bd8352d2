{#- Meta Ads ad performance rows conformed to the `ad_performance` union's columns (macro union_fields). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    account_name,
    account_currency,
    account_timezone,
    campaign_id,
    campaign_name,
    ad_group_id,
    ad_group_name,
    ad_id,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value{{ passthrough_columns('meta_ads') }}  -- noqa: LT02
from {{ ref('stg_meta_ads__ad_insights') }}
