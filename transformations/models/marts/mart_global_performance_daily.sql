{#- All channels together per day. ROAS = sum(conversion value) / sum(spend), both in the reporting
    currency: a ratio of sums, never an average of the channels' ratios. Rebuilt by whole days like the fact
    it sums (daily_incremental_config). -#}
{{ daily_incremental_config(cluster_by=none) }}

with

performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

    {% if is_incremental() %}
    where date_day >= {{ incremental_window_start() }}
    {% endif %}

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
