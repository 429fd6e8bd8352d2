{#- The latest known currency and name of every account that the ad performance or the platform totals
    stream loaded on some day (int_account_days): the latest day's, the name from the latest day that has
    one. What a breakdown row falls back to when neither its own stream nor its day says (breakdown_report). -#}

with

account_days as (

    select * from {{ ref('int_account_days') }}

),

final as (

    select
        channel,
        account_id,
        {{ latest_value('account_currency', ['date_day']) }} as account_currency,
        {{ latest_value('account_name', ['account_name', 'date_day']) }} as account_name

    from account_days
    group by channel, account_id

)

select * from final
