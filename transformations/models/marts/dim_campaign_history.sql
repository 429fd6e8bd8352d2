{%- set attributes = [('campaign_name', 'string'), ('campaign_status', 'string'), ('campaign_type', 'string'),
                      ('bidding_strategy', 'string'), ('budget_amount', 'money'), ('budget_period', 'string')] -%}

with

snapshots as (

    {{ channel_union('campaign_snapshot') }}

),

{{ scd2_from_snapshots('snapshots', ['campaign_id'], attributes | map('first') | list) }}
