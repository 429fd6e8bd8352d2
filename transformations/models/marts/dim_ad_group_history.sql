{%- set attributes = [('campaign_id', 'string'), ('ad_group_name', 'string'), ('ad_group_status', 'string'),
                      ('budget_amount', 'money'), ('cpc_bid', 'money')] -%}

with

snapshots as (

    {{ channel_union('ad_group_snapshot') }}

),

{{ scd2_from_snapshots('snapshots', ['ad_group_id'], attributes | map('first') | list) }}
