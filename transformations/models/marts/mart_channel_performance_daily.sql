{#- Rebuilt by whole days like the fact it sums (daily_incremental_config). -#}
{{ daily_incremental_config(cluster_by=['channel']) }}

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
        channel,
        reporting_currency,
        cast(count(distinct account_id) as {{ mdp_type('integer') }}) as account_count,
        {{ summed_measures(account_currency=false) }}

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
