{#- Rebuilt by whole days (daily_incremental_config); from earlier when a campaign got its first history
    version in the window (incremental_window_start). -#}
{{ daily_incremental_config() }}

with

performance as (

    select * from {{ ref('mart_campaign_performance_daily') }}

    {% if is_incremental() %}
    where date_day >= {{ incremental_window_start(
        'dim_campaign_history', ['campaign_id'], ref('mart_campaign_performance_daily')
    ) }}
    {% endif %}

)

{{ attributes_on_day(
    'performance',
    'dim_campaign_history',
    ['campaign_id'],
    ['campaign_status', 'campaign_type', 'bidding_strategy', 'budget_amount', 'budget_period'],
) }}
