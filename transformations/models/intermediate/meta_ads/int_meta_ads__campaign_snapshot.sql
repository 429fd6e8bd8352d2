{#- Meta Ads campaign snapshot rows conformed to the `campaign_snapshot` union's columns (macro
    union_fields): mapped: campaign_type <- campaign_objective, bidding_strategy <- bid_strategy,
    budget_amount <- coalesce(daily_budget, lifetime_budget), budget_period <- DAILY or LIFETIME
    after the budget that is set. -#}
{{ config(materialized='ephemeral') }}

select
    snapshot_date,
    channel,
    account_id,
    campaign_id,
    campaign_name,
    campaign_status,
    campaign_objective as campaign_type,
    bid_strategy as bidding_strategy,
    coalesce(daily_budget, lifetime_budget) as budget_amount,
    case
        when daily_budget is not null then 'DAILY'
        when lifetime_budget is not null then 'LIFETIME'
    end as budget_period
from {{ ref('stg_meta_ads__campaign_snapshot') }}
