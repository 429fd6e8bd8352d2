{#- Adds reporting-currency money (macros/reporting_currency.sql): amount x units_per_eur(reporting) /
    units_per_eur(account) rounded half away from zero to 6 decimal places, exactly in decimal; the amount
    itself when the account already reports in the reporting currency (no seed row needed). fx_rate is
    that cross rate as a float, for information. A row without a currency, or whose currency has no rate
    that day, is left out (and listed in excluded_account_days): it never stops the build for the other
    accounts. -#}

with

performance as (

    select * from {{ ref('int_ad_performance_unioned') }}

),

joined as (

    select
        performance.*,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,
        {{ fx_rate('performance') }} as fx_rate,
        {{ converted('performance.spend', 'performance') }} as spend_reporting,
        {{ converted('performance.conversion_value', 'performance') }} as conversion_value_reporting{{ passthrough_converted('performance') }}  -- noqa: LT02, LT05

    from performance
    {{ fx_joins('performance') }}
    where {{ fx_available('performance') }}

)

select * from joined
