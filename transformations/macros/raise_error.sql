{#- An expression that aborts the query with `message_expression` (a SQL string expression) when it is
    evaluated; use it in the branch of a CASE that must never be taken. -#}
{% macro raise_error(message_expression) -%}
    {{ return(adapter.dispatch('raise_error')(message_expression)) }}
{%- endmacro %}

{% macro default__raise_error(message_expression) -%}
    error({{ message_expression }})
{%- endmacro %}
