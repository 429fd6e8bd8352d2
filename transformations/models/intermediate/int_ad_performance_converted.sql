{#- Adds reporting-currency money: amount * fx_rate, where fx_rate = units of the reporting currency
    per 1 unit of the account currency on that day = units_per_eur(reporting) / units_per_eur(account),
    and exactly 1 when the account already reports in the reporting currency (no seed row needed).
    A day whose account currency (or reporting currency) has no rate stops the build with an error
    naming the currency and the day: a silent null or a stale rate would make the marts wrong. -#}
{%- set reporting_currency = var('reporting_currency') | upper -%}

with

performance as (

    select * from {{ ref('int_ad_performance_unioned') }}

),

fx_rates as (

    select * from {{ ref('stg_fx__rates_daily') }}

),

reporting_rates as (

    select
        date_day,
        units_per_eur
    from fx_rates
    where currency = '{{ reporting_currency }}'

),

joined as (

    select
        performance.*,
        '{{ reporting_currency }}' as reporting_currency,
        case
            when performance.account_currency = '{{ reporting_currency }}' then 1.0
            else {{ safe_divide('reporting_rates.units_per_eur', 'account_rates.units_per_eur') }}
        end as fx_rate

    from performance
    left join fx_rates as account_rates
        on
            performance.account_currency = account_rates.currency
            and performance.date_day = account_rates.date_day
    left join reporting_rates
        on performance.date_day = reporting_rates.date_day

),

converted as (

    select
        joined.*,
        case
            when fx_rate is null then {{ raise_error(dbt.concat([
                "'no FX rate to convert '",
                "coalesce(account_currency, '(null currency)')",
                "' into " ~ reporting_currency ~ " on '",
                "cast(date_day as " ~ mdp_type('string') ~ ")",
                "' (account '",
                "channel",
                "' '",
                "account_id",
                "'): add the rate to seeds/fx_rates_daily.csv (units of the currency per 1 EUR)'",
            ])) }}
            else spend * fx_rate
        end as spend_reporting,
        conversion_value * fx_rate as conversion_value_reporting

    from joined

)

select * from converted
