{#- Meta Ads ad group snapshot rows conformed to the `ad_group_snapshot` union's columns (macro
    union_fields): mapped: budget_amount <- coalesce(daily_budget, lifetime_budget); the stream has no
    cpc_bid. -#}
{{ config(materialized='ephemeral') }}

select
    snapshot_date,
    channel,
    account_id,
    ad_group_id,
    campaign_id,
    ad_group_name,
    ad_group_status,
    coalesce(daily_budget, lifetime_budget) as budget_amount,
    null as cpc_bid
from {{ ref('stg_meta_ads__adset_snapshot') }}
