{#- Schemas (BigQuery datasets) are named `<dataset_prefix><custom schema>`: staging, intermediate, marts,
    reference; not dbt's default `<target schema>_<custom schema>`. Models without a custom schema go to
    the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ var('dataset_prefix', '') ~ (custom_schema_name | trim) }}
    {%- endif -%}
{%- endmacro %}
