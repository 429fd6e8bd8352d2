{#- TikTok's placement breakdown conformed to the platform report's union columns, in order, as Meta's
    publisher platforms are: the placement is the publisher platform (PLACEMENT_TIKTOK -> tiktok, PLACEMENT_PANGLE
    -> pangle, PLACEMENT_GLOBAL_APP_BUNDLE -> global_app_bundle); TikTok reports no position within it (null). -#}
with

placements as (

    select * from {{ ref('stg_tiktok_ads__placement_performance') }}

)

select
    date_day,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    lower(replace(placement, 'PLACEMENT_', '')) as publisher_platform,
    cast(null as {{ mdp_type('string') }}) as platform_position,
    impressions,
    clicks,
    spend,
    conversions,
    conversion_value,
    account_currency
from placements
