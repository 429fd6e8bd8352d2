{#- Every channel's ad performance (its `int_<channel>__ad_performance` model, conformed to
    ad_performance_fields()), unioned: adding a channel edits nothing here (macro channel_models). -#}

{{ channel_union('ad_performance') }}
