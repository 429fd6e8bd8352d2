{#- Money in var('reporting_currency'). The FX rates (stg_fx__rates_daily) are units of a currency per
    1 EUR, exact decimals of 6 decimal places. The one rounding rule (DECISIONLOG.md, "Money, FX and the
    reporting currency"): an amount A in the account currency C becomes, in the reporting currency R,

        A x units_per_eur(R) / units_per_eur(C), rounded half away from zero to 6 decimal places,

    computed exactly in decimal (no float, no rounded cross rate on the way), once per row; sums over rows
    add the rounded amounts. An amount already in R is kept as it is (no seed row needed). A row without
    a currency or a rate that day is never converted with a null or a stale rate: the models filter it out
    with fx_available and list it in excluded_account_days (fx_exclusion_reason says why), so one account
    never fails the build for the others; converted() still stops the build naming the currency and the
    day if such a row ever reaches it.

    fx_joins(alias, currency, day): the two left joins onto stg_fx__rates_daily for rows of `alias`.
    fx_rate(alias, currency): the cross rate (units of R per 1 C) as a float, for information only: the
        amounts are converted from the decimal rates, not through it.
    converted(amount, alias, currency, day): the amount in R (after fx_joins), or the error.
    fx_available(alias, currency): whether a row can be converted; fx_exclusion_reason: why not. -#}
{% macro fx_joins(alias, currency='account_currency', day='date_day') -%}
    left join {{ ref('stg_fx__rates_daily') }} as account_rates
        on
            {{ alias }}.{{ currency }} = account_rates.currency
            and {{ alias }}.{{ day }} = account_rates.date_day
    left join {{ ref('stg_fx__rates_daily') }} as reporting_rates
        on
            {{ alias }}.{{ day }} = reporting_rates.date_day
            and reporting_rates.currency = '{{ var("reporting_currency") | upper }}'
{%- endmacro %}

{#- Whether a row of `alias` can be converted (after fx_joins): it has a currency, and it is the reporting
    currency or both rates exist on its day. A row that cannot is left out of the marts and listed in
    excluded_account_days (fx_exclusion_reason says why). -#}
{% macro fx_available(alias, currency='account_currency') -%}
    (
        {{ alias }}.{{ currency }} = '{{ var("reporting_currency") | upper }}'
        or (account_rates.units_per_eur is not null and reporting_rates.units_per_eur is not null)
    )
{%- endmacro %}

{% macro fx_exclusion_reason(alias, currency='account_currency') -%}
    {%- set reporting_currency = var('reporting_currency') | upper -%}
    case
        when {{ alias }}.{{ currency }} is null
            then 'no currency: neither its own rows, the ad performance nor the platform totals carry one'
        when {{ alias }}.{{ currency }} = '{{ reporting_currency }}' then null
        when reporting_rates.units_per_eur is null
            then 'no FX rate for {{ reporting_currency }} (the reporting currency) that day in seeds/fx_rates_daily.csv'
        when account_rates.units_per_eur is null
            then {{ dbt.concat([
                "'no FX rate for '",
                alias ~ "." ~ currency,
                "' that day in seeds/fx_rates_daily.csv (units of the currency per 1 EUR)'",
            ]) }}
    end
{%- endmacro %}

{% macro fx_rate(alias, currency='account_currency') -%}
    case
        when {{ alias }}.{{ currency }} = '{{ var("reporting_currency") | upper }}' then 1.0
        else {{ safe_divide('reporting_rates.units_per_eur', 'account_rates.units_per_eur') }}
    end
{%- endmacro %}

{% macro converted(amount, alias, currency='account_currency', day='date_day') -%}
    {%- set reporting_currency = var('reporting_currency') | upper -%}
    case
        when {{ alias }}.{{ currency }} = '{{ reporting_currency }}' then {{ to_money(amount) }}
        when account_rates.units_per_eur is null or reporting_rates.units_per_eur is null
            then {{ raise_error(dbt.concat([
            "'no FX rate to convert '",
            "coalesce(" ~ alias ~ "." ~ currency ~ ", '(null currency)')",
            "' into " ~ reporting_currency ~ " on '",
            "cast(" ~ alias ~ "." ~ day ~ " as " ~ mdp_type('string') ~ ")",
            "' (account '",
            alias ~ ".channel",
            "' '",
            alias ~ ".account_id",
            "'): add the rate to seeds/fx_rates_daily.csv (units of the currency per 1 EUR)'",
        ])) }}
        else {{ fx_convert(amount, 'reporting_rates.units_per_eur', 'account_rates.units_per_eur') }}
    end
{%- endmacro %}

{#- amount x to_units / from_units (two rates in units per 1 EUR) rounded half away from zero to 6 decimal
    places, exactly: with a = the amount in micros and t, f the rates in millionths (integers, since money and rates have 6 decimal
    places), the result in micros is the integer quotient a x t / f rounded half away from zero.
    DuckDB: HUGEINT integer division (exact). BigQuery: NUMERIC (integers exact below 10^29; the quotient
    is exact to 9 decimal places before it is rounded to an integer). -#}
{% macro fx_convert(amount, to_units, from_units) -%}
    {{ return(adapter.dispatch('fx_convert')(amount, to_units, from_units)) }}
{%- endmacro %}

{% macro default__fx_convert(amount, to_units, from_units) -%}
    {%- set micros = 'cast(' ~ to_money(amount) ~ ' * 1000000 as hugeint)' -%}
    {%- set to_millionths = 'cast(' ~ to_rate(to_units) ~ ' * 1000000 as hugeint)' -%}
    {%- set from_millionths = 'cast(' ~ to_rate(from_units) ~ ' * 1000000 as hugeint)' -%}
    cast(
        cast(
            sign({{ micros }})
            * ((2 * abs({{ micros }}) * {{ to_millionths }} + {{ from_millionths }}) // (2 * {{ from_millionths }}))
            as decimal(38, 0)
        ) * 0.000001
        as {{ mdp_type('money') }}
    )
{%- endmacro %}

{% macro bigquery__fx_convert(amount, to_units, from_units) -%}
    {%- set micros = 'round(' ~ to_money(amount) ~ ' * 1000000 * (' ~ to_rate(to_units) ~ ' * 1000000) / ('
                     ~ to_rate(from_units) ~ ' * 1000000), 0)' -%}
    {{ to_money(micros ~ ' / 1000000') }}
{%- endmacro %}
