{#- First day an incremental run rebuilds: var('incremental_start_date') (YYYY-MM-DD) when set, else the
    latest day already in the model minus var('incremental_lookback_days') (everything when the model is
    empty). Only call it inside is_incremental(). -#}
{% macro incremental_window_start() -%}
    {%- set start_date = var('incremental_start_date', none) -%}
    {%- set lookback_days = var('incremental_lookback_days') | int -%}
    {%- if start_date -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', start_date | string) -%}
            {{ exceptions.raise_compiler_error("var incremental_start_date must be YYYY-MM-DD, got '" ~ start_date ~ "'") }}
        {%- endif -%}
        cast('{{ start_date }}' as date)
    {%- else -%}
        (
            select coalesce(
                cast({{ dbt.dateadd('day', -lookback_days, 'max(date_day)') }} as date),
                cast('1900-01-01' as date)
            )
            from {{ this }}
        )
    {%- endif -%}
{%- endmacro %}
