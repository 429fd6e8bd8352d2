{#- Meta Ads account totals rows conformed to the `account_totals` union's columns (macro union_fields). -#}
{{ config(materialized='ephemeral') }}

select
    date_day,
    channel,
    account_id,
    account_currency,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value
from {{ ref('stg_meta_ads__account_totals') }}
