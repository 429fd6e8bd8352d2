{#- The FX rate from an account currency into var('reporting_currency') on a day: units of the reporting
    currency per 1 unit of the account currency = units_per_eur(reporting) / units_per_eur(account), and
    exactly 1 when the account already reports in the reporting currency. A day without a rate stops the
    build naming the currency and the day (a silent null or a stale rate would make the marts wrong).

    fx_joins(alias, currency, day): the two left joins onto stg_fx__rates_daily for rows of `alias`.
    fx_rate(alias, currency): the rate expression (after fx_joins).
    converted(amount, alias, currency, day, channel, account): amount * rate, or the error. -#}
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

{% macro fx_rate(alias, currency='account_currency') -%}
    case
        when {{ alias }}.{{ currency }} = '{{ var("reporting_currency") | upper }}' then 1.0
        else {{ safe_divide('reporting_rates.units_per_eur', 'account_rates.units_per_eur') }}
    end
{%- endmacro %}

{% macro converted(amount, rate, alias, currency='account_currency', day='date_day') -%}
    {%- set reporting_currency = var('reporting_currency') | upper -%}
    case
        when {{ rate }} is null then {{ raise_error(dbt.concat([
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
        else {{ amount }} * {{ rate }}
    end
{%- endmacro %}
