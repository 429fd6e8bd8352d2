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
        account_currency,
        max(account_timezone) as account_timezone,
        reporting_currency,
        {{ summed_measures() }}

    from performance
    group by date_day, channel, account_id, account_currency, reporting_currency

)

select
    *,
    {{ performance_ratios() }}
from aggregated
