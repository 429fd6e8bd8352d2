with

performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

),

aggregated as (

    select
        date_day,
        channel,
        reporting_currency,
        cast(count(distinct account_id) as {{ mdp_type('integer') }}) as account_count,
        cast(sum(impressions) as {{ mdp_type('integer') }}) as impressions,
        cast(sum(clicks) as {{ mdp_type('integer') }}) as clicks,
        cast(sum(conversions) as {{ mdp_type('float') }}) as conversions,
        cast(sum(spend_reporting) as {{ mdp_type('float') }}) as spend_reporting,
        cast(sum(conversion_value_reporting) as {{ mdp_type('float') }}) as conversion_value_reporting

    from performance
    group by date_day, channel, reporting_currency

),

final as (

    select
        {{ dbt.hash(dbt.concat(['channel', "'|'", 'cast(date_day as ' ~ mdp_type('string') ~ ')'])) }}
            as channel_performance_key,
        *,
        {{ performance_ratios() }}

    from aggregated

)

select * from final
