{#- Meta Ads region rows conformed to the `region` union's columns (macro union_fields): the stream has no
    country_code. -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    null as country_code,
    region_name,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_meta_ads__region_insights') }}
