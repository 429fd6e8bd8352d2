{#- `select` of every column of `facts` (a CTE with channel, account_id, date_day and the `keys`) plus the
    `columns` of the SCD2 `history` model as they were on each row's day; a day before the entity's first
    snapshot takes its first version (the connectors cannot read the past), a day after its last one the
    last version. -#}
{% macro attributes_on_day(facts, history, keys, columns) -%}
    {%- set entity = ['channel', 'account_id'] + keys -%}
    select
        {{ facts }}.*,
        {%- for column in columns %}
        case
            when on_day.history_key is not null then on_day.{{ column }}
            else first_version.{{ column }}
        end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}

    from {{ facts }}
    left join {{ ref(history) }} as on_day
        on
        {%- for column in entity %}
            {{ facts }}.{{ column }} = on_day.{{ column }} and
        {%- endfor %}
            {{ facts }}.date_day >= on_day.valid_from
            and ({{ facts }}.date_day < on_day.valid_to or on_day.valid_to is null)
    left join (
        select
            *,
            row_number() over (partition by {{ entity | join(', ') }} order by valid_from) as version_number
        from {{ ref(history) }}
    ) as first_version
        on
        {%- for column in entity %}
            {{ facts }}.{{ column }} = first_version.{{ column }} and
        {%- endfor %}
            first_version.version_number = 1
{%- endmacro %}
