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
        max(account_name) as account_name,
        campaign_id,
        max(campaign_name) as campaign_name,
        ad_group_id,
        max(ad_group_name) as ad_group_name,
        account_currency,
        reporting_currency,
        {{ summed_measures() }}

    from performance
    group by date_day, channel, account_id, campaign_id, ad_group_id, account_currency, reporting_currency

)

select
    *,
    {{ performance_ratios() }}
from aggregated
