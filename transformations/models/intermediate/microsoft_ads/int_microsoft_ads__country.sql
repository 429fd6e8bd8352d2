{#- Microsoft Advertising country rows conformed to the `country` union's columns (macro union_fields):
    mapped: country_name <- country. -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    country_code,
    country as country_name,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_microsoft_ads__geographic_performance') }}
