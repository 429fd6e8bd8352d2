{#- The SQL boolean `expression` holds on every row (optionally only where `where` holds); the model-level
    test returns the rows that break it. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ column_name ~ ' ' if column_name }}{{ expression }})

{% endtest %}
