{#- One row per channel x account x day that the primary (ad performance) or the platform totals stream
    loaded, with the account's currency and name on that day: from the ad performance rows when they landed,
    else from the platform totals (which carry the currency, not the name). A breakdown report takes its
    account's currency from its own stream first, then from here, then from int_accounts
    (breakdown_report): so one stream failing for an account never leaves another stream of it without a
    currency while any of them carries one. A table: every breakdown report reads it. -#}
{{ config(materialized='table') }}

with

performance as (

    select
        channel,
        account_id,
        date_day,
        max(account_currency) as account_currency,
        max(account_name) as account_name

    from {{ ref('int_ad_performance_unioned') }}
    where account_currency is not null
    group by channel, account_id, date_day

),

platform as (

    {{ platform_totals() }}

),

totals as (

    select
        channel,
        account_id,
        date_day,
        max(account_currency) as account_currency

    from platform
    where account_currency is not null
    group by channel, account_id, date_day

),

account_days as (

    select
        channel,
        account_id,
        date_day
    from performance
    union distinct
    select
        channel,
        account_id,
        date_day
    from totals

),

final as (

    select
        account_days.channel,
        account_days.account_id,
        account_days.date_day,
        coalesce(performance.account_currency, totals.account_currency) as account_currency,
        performance.account_name

    from account_days
    left join performance
        on
            account_days.channel = performance.channel
            and account_days.account_id = performance.account_id
            and account_days.date_day = performance.date_day
    left join totals
        on
            account_days.channel = totals.channel
            and account_days.account_id = totals.account_id
            and account_days.date_day = totals.date_day

)

select * from final
