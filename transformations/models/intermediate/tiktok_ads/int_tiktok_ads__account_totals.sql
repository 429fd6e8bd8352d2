{#- TikTok advertisers' own daily totals conformed to account_totals_fields(), in order. -#}
with

totals as (

    select * from {{ ref('stg_tiktok_ads__account_totals') }}

)

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
from totals
