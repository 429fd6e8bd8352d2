{#- Adds reporting-currency money (macros/reporting_currency.sql): amount * fx_rate, where fx_rate = units
    of the reporting currency per 1 unit of the account currency on that day, exactly 1 when the account
    already reports in the reporting currency (no seed row needed). A day whose currency has no rate stops
    the build with an error naming the currency and the day. -#}

with

performance as (

    select * from {{ ref('int_ad_performance_unioned') }}

),

joined as (

    select
        performance.*,
        '{{ var("reporting_currency") | upper }}' as reporting_currency,
        {{ fx_rate('performance') }} as fx_rate

    from performance
    {{ fx_joins('performance') }}

),

converted as (

    select
        joined.*,
        {{ converted('joined.spend', 'joined.fx_rate', 'joined') }} as spend_reporting,
        joined.conversion_value * joined.fx_rate as conversion_value_reporting

    from joined

)

select * from converted
