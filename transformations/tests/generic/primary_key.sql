{#- The columns are the model's primary key: never null, and unique together. Returns the offending keys. -#}
{% test primary_key(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having
    count(*) > 1
    {%- for column in columns %}
    or {{ column }} is null
    {%- endfor %}

{% endtest %}
