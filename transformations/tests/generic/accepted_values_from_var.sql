{#- Every non-null value of the column is one of the keys (or items, or the value) of the project
    variable `var_name` (e.g. the channels of ad_performance_channels, which the flows build from the
    registered connectors; the reporting_currency). -#}
{% test accepted_values_from_var(model, column_name, var_name) %}

{%- set value = var(var_name) -%}
{%- set accepted = [value] if value is string else value | list -%}

select {{ column_name }} as unexpected_value, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in (
        {%- for value in accepted %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
group by {{ column_name }}

{% endtest %}
