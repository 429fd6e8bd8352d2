{#- Daily FX rates: units of `currency` per 1 EUR (the base, whose rate is 1). The seed fx_rates_daily
    is a deterministic placeholder; to use real rates (ECB, Open Exchange Rates, a finance table), load
    them as a source with the same meaning and replace the ref below by that source(). -#}
with

rates as (

    select * from {{ ref('fx_rates_daily') }}

),

renamed as (

    select
        cast(date as date) as date_day,
        upper(currency) as currency,
        {{ to_rate('rate') }} as units_per_eur

    from rates

)

select * from renamed
