{#- One row per channel and account: its currency and latest name, from the ad performance stream. The
    breakdown reports convert money with it (their streams do not all carry the currency). -#}

with

performance as (

    select * from {{ ref('int_ad_performance_unioned') }}

),

ranked as (

    select
        channel,
        account_id,
        account_name,
        account_currency,
        row_number() over (partition by channel, account_id order by date_day desc) as recency_rank

    from performance

)

select
    channel,
    account_id,
    account_name,
    account_currency
from ranked
where recency_rank = 1
