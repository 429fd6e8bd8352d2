{#- Microsoft Advertising device rows conformed to the `device` union's columns (macro union_fields):
    mapped: device_detail <- device_type. -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    device,
    device_type as device_detail,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from {{ ref('stg_microsoft_ads__device_performance') }}
