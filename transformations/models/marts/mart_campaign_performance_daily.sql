{#- Rebuilt by whole days like the fact it sums (daily_incremental_config). -#}
{{ daily_incremental_config() }}

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
        account_id,
        campaign_id,
        max(account_name) as account_name,
        max(campaign_name) as campaign_name,
        account_currency,
        reporting_currency,
        {{ summed_measures() }}

    from performance
    group by date_day, channel, account_id, campaign_id, account_currency, reporting_currency

),

final as (

    select
        {{ dbt.hash(dbt.concat([
            'channel', "'|'", 'account_id', "'|'", 'campaign_id', "'|'",
            'cast(date_day as ' ~ mdp_type('string') ~ ')',
        ])) }} as campaign_performance_key,
        *,
        {{ performance_ratios() }}

    from aggregated

)

select * from final
