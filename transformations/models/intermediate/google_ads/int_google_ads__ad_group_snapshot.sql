{#- Google Ads ad group snapshot rows conformed to the `ad_group_snapshot` union's columns (macro
    union_fields): the stream has no budget_amount. -#}
{{ config(materialized='ephemeral') }}

select
    snapshot_date,
    channel,
    account_id,
    ad_group_id,
    campaign_id,
    ad_group_name,
    ad_group_status,
    null as budget_amount,
    cpc_bid
from {{ ref('stg_google_ads__ad_group_snapshot') }}
