{#- The combination of `combination_of_columns` is unique in the model (a composite grain key).
    Failing rows show each duplicated combination and how often it occurs. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns = combination_of_columns | join(', ') %}

select {{ columns }}, count(*) as occurrences
from {{ model }}
group by {{ columns }}
having count(*) > 1

{% endtest %}
