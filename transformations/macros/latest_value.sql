{#- Aggregate: `column` on the group's row that comes first when ordered by `order_by` (a list of columns,
    each descending, nulls last): the value row_number() over (... order by a desc, b desc) = 1 would
    pick, in one GROUP BY pass instead of a window over every row. A null `column` on that row stays null. -#}
{% macro latest_value(column, order_by) -%}
    {{ return(adapter.dispatch('latest_value')(column, order_by)) }}
{%- endmacro %}

{#- DuckDB: arg_max_null keeps a null value (arg_max would skip it); the sort key puts a null key after
    every non-null one, as `desc` (nulls last) does. -#}
{% macro default__latest_value(column, order_by) -%}
    {%- set key = [] -%}
    {%- for part in order_by -%}
        {%- do key.extend([part ~ ' is not null', part]) -%}
    {%- endfor -%}
    arg_max_null({{ column }}, ({{ key | join(', ') }}))
{%- endmacro %}

{#- BigQuery: the struct wrapper lets a null value through (an array may not hold a null). -#}
{% macro bigquery__latest_value(column, order_by) -%}
    array_agg(struct({{ column }} as value) order by {{ order_by | join(' desc, ') }} desc limit 1)[offset(0)].value
{%- endmacro %}
