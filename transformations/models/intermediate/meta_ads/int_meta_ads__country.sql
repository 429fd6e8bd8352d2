{#- Meta Ads country rows conformed to the `country` union's columns (macro union_fields): the stream has no
    country_name. -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    country_code,
    null as country_name,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_meta_ads__country_insights') }}
