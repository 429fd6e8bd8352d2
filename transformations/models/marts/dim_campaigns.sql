with

performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

),

ranked as (

    select
        channel,
        account_id,
        campaign_id,
        campaign_name,
        min(date_day) over (partition by channel, account_id, campaign_id) as first_date_day,
        max(date_day) over (partition by channel, account_id, campaign_id) as last_date_day,
        row_number() over (
            partition by channel, account_id, campaign_id
            order by date_day desc, campaign_name desc
        ) as recency_rank

    from performance

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

    from ranked
    where recency_rank = 1

)

select * from final
