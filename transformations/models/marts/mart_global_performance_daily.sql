{#- All channels together per day. ROAS = sum(conversion value) / sum(spend), both in the reporting
    currency: a ratio of sums, never an average of the channels' ratios. -#}
with

performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

),

aggregated as (

    select
        date_day,
        reporting_currency,
        cast(count(distinct channel) as {{ mdp_type('integer') }}) as channel_count,
        cast(sum(impressions) as {{ mdp_type('integer') }}) as impressions,
        cast(sum(clicks) as {{ mdp_type('integer') }}) as clicks,
        cast(sum(conversions) as {{ mdp_type('float') }}) as conversions,
        cast(sum(spend_reporting) as {{ mdp_type('float') }}) as spend_reporting,
        cast(sum(conversion_value_reporting) as {{ mdp_type('float') }}) as conversion_value_reporting

    from performance
    group by date_day, reporting_currency

),

final as (

    select
        *,
        {{ performance_ratios() }}

    from aggregated

)

select * from final
