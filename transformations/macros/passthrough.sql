{#- Passthrough metrics: platform fields a user declares under `metrics:` in pipeline.yaml, extracted on each
    channel's ad performance stream into raw `pt_<field>` columns and carried to fct_ad_performance_daily and the
    marts summed from it. flows/dbt_custom.py writes the package mdp_custom whose macro passthrough_metrics()
    lists them: [{name, kind, additive, description, sources: {channel: [raw pt_ columns summed]}}]. Without it
    (no metrics configured) every macro here adds nothing. -#}
{% macro passthrough_metrics() -%}
    {%- if mdp_custom is defined -%}
        {{ return(mdp_custom.passthrough_metrics()) }}
    {%- endif -%}
    {{ return([]) }}
{%- endmacro %}

{#- The raw pt_ columns a channel's metrics read, each once, in order. -#}
{% macro passthrough_raw_columns(channel) -%}
    {%- set columns = [] -%}
    {%- for metric in passthrough_metrics() -%}
        {%- for column in metric.sources.get(channel, []) -%}
            {%- if column not in columns -%}
                {%- do columns.append(column) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- `, pt_x, pt_y`: a channel's staging and int ad performance models pass its raw pt_ columns on (a leading
    comma each, after the model's last column). -#}
{% macro passthrough_columns(channel) -%}
    {%- for column in passthrough_raw_columns(channel) %}
        , {{ column }}
    {%- endfor %}
{%- endmacro %}

{#- The value of one metric in a channel's int model: its raw column, or the sum of several (null only when all
    are null), or null when the channel does not provide it. -#}
{% macro passthrough_expression(metric, channel) -%}
    {%- set columns = metric.sources.get(channel, []) -%}
    {%- if columns | length == 0 -%}
        cast(null as {{ mdp_type(metric.kind) }})
    {%- elif columns | length == 1 -%}
        {{ mdp_cast(columns[0], metric.kind) }}
    {%- else -%}
        {%- set parts = [] -%}
        {%- for column in columns -%}
            {%- do parts.append('coalesce(' ~ column ~ ', 0)') -%}
        {%- endfor -%}
        case
            when {% for column in columns %}{{ column }} is null{{ ' and ' if not loop.last }}{% endfor %} then null
            else {{ mdp_cast(parts | join(' + '), metric.kind) }}
        end
    {%- endif -%}
{%- endmacro %}

{#- `, <expression> as <metric>` for every metric: what union_channels adds to an ad performance model's select. -#}
{% macro passthrough_select(model_name) -%}
    {%- set channel = model_channel(model_name) -%}
    {%- for metric in passthrough_metrics() %}
        , {{ passthrough_expression(metric, channel) }} as {{ metric.name }}
    {%- endfor %}
{%- endmacro %}

{#- `, cast(null ...) as <metric>` for every metric: the empty union's columns. -#}
{% macro passthrough_nulls() -%}
    {%- for metric in passthrough_metrics() %}
        , cast(null as {{ mdp_type(metric.kind) }}) as {{ metric.name }}
    {%- endfor %}
{%- endmacro %}

{#- `, <money metric> converted as <metric>_reporting` (int_ad_performance_converted). -#}
{% macro passthrough_converted(relation) -%}
    {%- for metric in passthrough_metrics() if metric.kind == 'money' %}
        , {{ converted(relation ~ '.' ~ metric.name, relation) }} as {{ metric.name }}_reporting
    {%- endfor %}
{%- endmacro %}

{#- `, <metric>[, <metric>_reporting]`: the fact's columns, every metric at its own grain. -#}
{% macro passthrough_fact_columns() -%}
    {%- for metric in passthrough_metrics() %}
        , {{ metric.name }}
        {%- if metric.kind == 'money' %}
        , {{ metric.name }}_reporting
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- The additive metrics summed over a group (macro summed_measures): counts and numbers as their kind, money in
    the reporting currency and, unless the group mixes accounts, in the account currency. A metric that does not
    add up over days and entities (reach, frequency) is left out of every summed mart. -#}
{% macro passthrough_sums(account_currency=true) -%}
    {%- for metric in passthrough_metrics() if metric.additive %}
        {%- if metric.kind == 'money' %}
        {%- if account_currency %}
        , {{ to_money('sum(' ~ metric.name ~ ')') }} as {{ metric.name }}
        {%- endif %}
        , {{ to_money('sum(' ~ metric.name ~ '_reporting)') }} as {{ metric.name }}_reporting
        {%- else %}
        , cast(sum({{ metric.name }}) as {{ mdp_type(metric.kind) }}) as {{ metric.name }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
