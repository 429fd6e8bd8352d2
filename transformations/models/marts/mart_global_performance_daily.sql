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
        {{ summed_measures(account_currency=false) }}

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
