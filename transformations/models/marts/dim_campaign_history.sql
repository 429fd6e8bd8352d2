{%- set attributes = [('campaign_name', 'string'), ('campaign_status', 'string'), ('campaign_type', 'string'),
                      ('bidding_strategy', 'string'), ('budget_amount', 'money'), ('budget_period', 'string')] -%}

with

snapshots as (

    {{ union_channels(
        var('report_channels')['campaign_snapshot'],
        [('snapshot_date', 'date'), ('channel', 'string'), ('account_id', 'string'), ('campaign_id', 'string')]
        + attributes,
        var('channel_field_overrides', {}).get('campaign_snapshot', {}),
    ) }}

),

{{ scd2_from_snapshots('snapshots', ['campaign_id'], attributes | map('first') | list) }}
