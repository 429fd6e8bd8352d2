{#- The latest name, currency and time zone are those of the account's latest row in the fact (latest
    day, then the greatest name): its latest day's row in account_report (the day's greatest name; an
    account-day is loaded as one unit, so its rows share currency and time zone). One GROUP BY over the
    account x day report, no window over the whole fact. -#}
{%- set latest = ['date_day', 'account_name'] -%}

with

performance as (

    select * from {{ ref('account_report') }}

),

aggregated as (

    select
        channel,
        account_id,
        {{ latest_value('account_name', latest) }} as account_name,
        {{ latest_value('account_currency', latest) }} as account_currency,
        {{ latest_value('account_timezone', latest) }} as account_timezone,
        min(date_day) as first_date_day,
        max(date_day) as last_date_day

    from performance
    group by channel, account_id

),

final as (

    select
        {{ dbt.hash(dbt.concat(['channel', "'|'", 'account_id'])) }} as account_key,
        channel,
        account_id,
        account_name,
        account_currency,
        account_timezone,
        first_date_day,
        last_date_day

    from aggregated

)

select * from final
