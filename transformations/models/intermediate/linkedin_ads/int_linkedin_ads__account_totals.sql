{#- LinkedIn's own account-day totals as the shared platform totals fields (account_totals_fields()), which
    reconciliation_daily compares the creative rows with. -#}

with

account_days as (

    select * from {{ ref('stg_linkedin_ads__account_totals') }}

),

conformed as (

    select
        date_day,
        channel,
        account_id,
        account_currency,
        impressions,
        clicks,
        cost as spend,
        cast(external_website_conversions as {{ mdp_type('float') }}) as conversions,
        conversion_value

    from account_days

)

select * from conformed
