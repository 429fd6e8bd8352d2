{#- A column type by kind (string | integer | float | date | timestamp) for the current warehouse, from
    var('column_types') in dbt_project.yml: the same map types the marts' enforced contracts. -#}
{% macro mdp_type(kind) -%}
    {%- set types = var('column_types') -%}
    {%- if target.type not in types -%}
        {{ exceptions.raise_compiler_error("var column_types has no entry for adapter '" ~ target.type ~ "'") }}
    {%- endif -%}
    {{ return(types[target.type][kind]) }}
{%- endmacro %}
