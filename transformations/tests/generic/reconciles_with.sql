{#- Reconciliation: per group (`group_by`, default channel, account and day), the sum of `measure` in this
    model equals the sum of `to_measure` (default: the same) in `to`, on every group this model has,
    within `tolerance` (absolute, default 0: exact, for money in the account currency, which is decimal
    from raw to the marts, and for counts; only a float measure such as conversions needs one) - or, with
    direction='at_most', does not exceed it (a report the platform leaves incomplete). `where` and
    `to_where` restrict either side (e.g. only Search campaigns for keywords). Returns the groups that
    differ, with both sums. `both_landed=true` compares only the groups both models have: for two models
    fed by different streams, loaded separately, where one stream failing for an account-day (a failed
    load the run names and `--retry-failed` heals) must not fail the build for every account. Compare money
    in the account currency (`spend`): amounts in the reporting currency are converted and rounded per row, so two grains may differ by the rounding. -#}
{% test reconciles_with(model, to, measure, to_measure=none, group_by=['channel', 'account_id', 'date_day'],
                        where=none, to_where=none, tolerance=0, direction='equal', both_landed=false) %}

with

ours as (

    select
        {{ group_by | join(', ') }},
        sum({{ measure }}) as ours
    from {{ model }}
    {% if where %}where {{ where }}{% endif %}
    group by {{ group_by | join(', ') }}

),

theirs as (

    select
        {{ group_by | join(', ') }},
        sum({{ to_measure or measure }}) as theirs
    from {{ to }}
    {% if to_where %}where {{ to_where }}{% endif %}
    group by {{ group_by | join(', ') }}

)

select
    ours.*,
    coalesce(theirs.theirs, 0) as theirs
from ours
{{ 'inner' if both_landed else 'left' }} join theirs
    on
    {%- for column in group_by %}
        {{ 'and ' if not loop.first }}ours.{{ column }} = theirs.{{ column }}
    {%- endfor %}
{%- if direction == 'at_most' %}
where coalesce(ours.ours, 0) - coalesce(theirs.theirs, 0) > {{ tolerance }}
{%- elif direction == 'equal' %}
where abs(coalesce(ours.ours, 0) - coalesce(theirs.theirs, 0)) > {{ tolerance }}
{%- else %}
{{ exceptions.raise_compiler_error("reconciles_with: direction must be 'equal' or 'at_most', got '" ~ direction ~ "'") }}
{%- endif %}

{% endtest %}
