{#- A column type by kind (string | integer | float | money | date | timestamp | boolean) for the current
    warehouse, from var('column_types') in dbt_project.yml: the same map types the marts' enforced
    contracts. `money` is an exact decimal (DuckDB DECIMAL(38, 6), BigQuery NUMERIC): every amount of
    money (spend, conversion value, budgets, bids), in the account or the reporting currency; see
    DECISIONLOG.md "Money, FX and the reporting currency". -#}
{% macro mdp_type(kind) -%}
    {%- set types = var('column_types') -%}
    {%- if target.type not in types -%}
        {{ exceptions.raise_compiler_error("var column_types has no entry for adapter '" ~ target.type ~ "'") }}
    {%- endif -%}
    {%- if kind not in types[target.type] -%}
        {{ exceptions.raise_compiler_error("var column_types." ~ target.type ~ " has no kind '" ~ kind ~ "'") }}
    {%- endif -%}
    {{ return(types[target.type][kind]) }}
{%- endmacro %}

{#- `expression` as a value of `kind`: a plain cast, except the decimals (money, rate), which are also
    rounded to their 6 decimal places (to_money). -#}
{% macro mdp_cast(expression, kind) -%}
    {%- if kind in ('money', 'rate') -%}
        {{ to_decimal6(expression, kind) }}
    {%- else -%}
        cast({{ expression }} as {{ mdp_type(kind) }})
    {%- endif -%}
{%- endmacro %}

{#- An amount as money: exact decimal, rounded half away from zero to 6 decimal places (the micros of the
    platforms' APIs) on both warehouses. DuckDB's DECIMAL(38, 6) cast rounds so; BigQuery's NUMERIC keeps 9
    decimal places, so the value is rounded explicitly (the marts then hold the same values on both).
    A DOUBLE or FLOAT64 input (a Google conversion value, which the API serves as a double) is rounded to
    the nearest micro there, once: from then on the amount stays decimal. -#}
{% macro to_money(expression) -%}
    {{ return(to_decimal6(expression, 'money')) }}
{%- endmacro %}

{#- A rate (units of a currency per 1 EUR) as an exact decimal of 6 decimal places, rounded like money. -#}
{% macro to_rate(expression) -%}
    {{ return(to_decimal6(expression, 'rate')) }}
{%- endmacro %}

{% macro to_decimal6(expression, kind) -%}
    {{ return(adapter.dispatch('to_decimal6')(expression, kind)) }}
{%- endmacro %}

{% macro default__to_decimal6(expression, kind) -%}
    cast({{ expression }} as {{ mdp_type(kind) }})
{%- endmacro %}

{#- BigQuery: ROUND keeps NUMERIC; the outer cast keeps the declared type on engines that type the rounded
    value by its scale (the crucible emulator's DuckDB gives DECIMAL(38, 6)). -#}
{% macro bigquery__to_decimal6(expression, kind) -%}
    cast(round(cast({{ expression }} as {{ mdp_type(kind) }}), 6) as {{ mdp_type(kind) }})
{%- endmacro %}

{#- An integer count of micros (Google Ads cost_micros, budget_amount_micros, cpc_bid_micros) as money,
    exactly: the integer is made decimal, then multiplied by the decimal 0.000001 (never divided: DuckDB
    divides decimals as DOUBLE). -#}
{% macro money_from_micros(expression) -%}
    {{ return(adapter.dispatch('money_from_micros')(expression)) }}
{%- endmacro %}

{% macro default__money_from_micros(expression) -%}
    cast(cast({{ expression }} as decimal(38, 0)) * 0.000001 as {{ mdp_type('money') }})
{%- endmacro %}

{% macro bigquery__money_from_micros(expression) -%}
    (cast({{ expression }} as {{ mdp_type('money') }}) * numeric '0.000001')
{%- endmacro %}
