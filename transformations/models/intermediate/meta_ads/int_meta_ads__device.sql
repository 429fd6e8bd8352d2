{#- Meta Ads device rows conformed to the `device` union's columns (macro union_fields). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    device,
    device_detail,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_meta_ads__device_insights') }}
