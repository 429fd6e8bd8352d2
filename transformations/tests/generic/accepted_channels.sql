{#- Every non-null value of the column is a channel: one with an `int_<channel>__ad_performance` model in
    the project or a linked plug-in package (macro channels). -#}
{% test accepted_channels(model, column_name) %}

select {{ column_name }} as unexpected_value, count(*) as occurrences
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in (
        {%- for channel in channels() %}'{{ channel }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
group by {{ column_name }}

{% endtest %}
