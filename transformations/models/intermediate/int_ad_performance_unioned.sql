{#- Every channel's staging model, conformed to the shared fields of ad_performance_fields(). The channels
    come from var('ad_performance_channels') (channel: staging model): adding a channel is one staging
    model and one line there. -#}

{{ union_channels(var('ad_performance_channels'), ad_performance_fields()) }}
