with

performance as (

    select * from {{ ref('mart_campaign_performance_daily') }}

)

{{ attributes_on_day(
    'performance',
    'dim_campaign_history',
    ['campaign_id'],
    ['campaign_status', 'campaign_type', 'bidding_strategy', 'budget_amount', 'budget_period'],
) }}
