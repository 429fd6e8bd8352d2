{#- Google Ads campaign snapshot rows conformed to the `campaign_snapshot` union's columns (macro
    union_fields): mapped: bidding_strategy <- bidding_strategy_type. -#}
{{ config(materialized='ephemeral') }}

select
    snapshot_date,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    campaign_status,
    campaign_type,
    bidding_strategy_type as bidding_strategy,
    budget_amount,
    budget_period
from {{ ref('stg_google_ads__campaign_snapshot') }}
