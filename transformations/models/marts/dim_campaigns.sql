{#- The latest name is that of the campaign's latest row in the fact (latest day, then the greatest name):
    its latest day's name in mart_campaign_performance_daily (the day's greatest name). One GROUP BY over
    the campaign x day mart, no window over the whole fact. -#}

with

performance as (

    select * from {{ ref('mart_campaign_performance_daily') }}

),

aggregated as (

    select
        channel,
        account_id,
        campaign_id,
        {{ latest_value('campaign_name', ['date_day', 'campaign_name']) }} as campaign_name,
        min(date_day) as first_date_day,
        max(date_day) as last_date_day

    from performance
    group by channel, account_id, campaign_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(['channel', "'|'", 'account_id', "'|'", 'campaign_id'])) }} as campaign_key,
        {{ dbt.hash(dbt.concat(['channel', "'|'", 'account_id'])) }} as account_key,
        channel,
        account_id,
        campaign_id,
        campaign_name,
        first_date_day,
        last_date_day

    from aggregated

)

select * from final
