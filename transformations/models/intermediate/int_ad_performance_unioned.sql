{#- Every channel's staging model, conformed to the shared fields of ad_performance_fields().
    The channels come from var('ad_performance_channels') (channel: staging model): adding a channel is
    one staging model and one line there. A channel whose staging model names a field differently maps
    it in `field_overrides` below (channel -> {field: expression}). -#}
{%- set channels = var('ad_performance_channels') -%}
{%- set field_overrides = {} -%}

-- noqa: disable=LT02
with

{% for channel, model_name in channels.items() %}
{{ channel }} as (

    select
        {%- for field, kind in ad_performance_fields() %}
        cast({{ field_overrides.get(channel, {}).get(field, field) }} as {{ mdp_type(kind) }}) as {{ field }}
        {{- ',' if not loop.last }}
        {%- endfor %}

    from {{ ref(model_name) }}

),

{% endfor %}
unioned as (

    {% for channel in channels %}
    select * from {{ channel }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
