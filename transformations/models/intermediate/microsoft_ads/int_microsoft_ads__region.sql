{#- Microsoft Advertising region rows conformed to the `region` union's columns (macro union_fields):
    mapped: region_name <- state. -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    country_code,
    state as region_name,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_microsoft_ads__geographic_performance') }}
