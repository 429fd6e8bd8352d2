{#- Every channel's staging model, conformed to the shared fields of ad_performance_fields(). The channels
    come from var('ad_performance_channels') (channel: staging model), which the flows build from every
    registered connector's `dbt_models['ad_performance']`: adding a channel edits nothing here. -#}

{{ union_channels(
    var('ad_performance_channels'),
    ad_performance_fields(),
    var('channel_field_overrides', {}).get('ad_performance', {}),
) }}
