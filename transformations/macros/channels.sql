{#- The channels of the cross-channel unions. Each channel conforms its own staging models to a union's
    columns (union_fields) in one intermediate model per union it feeds, `int_<channel>__<union>` (under
    models/intermediate/<channel>/, or in a plug-in's dbt package); the unions only list those models.

    The channels whose models live in this project are listed below. A plug-in connector installed from
    outside the repository ships its models as a dbt package: the flows link it into dbt_packages/ before
    every dbt run (flows/dbt_channels.py, `mdp dbt-deps` for a plain `dbt build`), together with the package
    `mdp_plugin_channels`, whose macro plugin_channel_models() returns {union: [models]} for the plug-ins.
    No var: a `dbt build` reads the same models as the flows. -#}
{% macro project_channel_models() -%}
    {{ return({
        'ad_performance': [
            'int_google_ads__ad_performance',
            'int_meta_ads__ad_performance',
            'int_microsoft_ads__ad_performance',
            'int_tiktok_ads__ad_performance',
            'int_linkedin_ads__ad_performance',
        ],
        'account_totals': [
            'int_google_ads__account_totals',
            'int_meta_ads__account_totals',
            'int_microsoft_ads__account_totals',
            'int_tiktok_ads__account_totals',
            'int_linkedin_ads__account_totals',
        ],
        'keyword': ['int_google_ads__keyword', 'int_microsoft_ads__keyword'],
        'search_term': ['int_google_ads__search_term', 'int_microsoft_ads__search_term'],
        'country': [
            'int_google_ads__country',
            'int_meta_ads__country',
            'int_microsoft_ads__country',
            'int_tiktok_ads__country',
            'int_linkedin_ads__country',
        ],
        'region': ['int_google_ads__region', 'int_meta_ads__region', 'int_microsoft_ads__region'],
        'device': ['int_google_ads__device', 'int_meta_ads__device', 'int_microsoft_ads__device'],
        'platform': ['int_meta_ads__platform', 'int_tiktok_ads__platform'],
        'age_gender': ['int_meta_ads__age_gender'],
        'conversion_action': ['int_google_ads__conversion_action', 'int_meta_ads__conversion_action'],
        'campaign_snapshot': ['int_google_ads__campaign_snapshot', 'int_meta_ads__campaign_snapshot'],
        'ad_group_snapshot': ['int_google_ads__ad_group_snapshot', 'int_meta_ads__ad_group_snapshot'],
        'ad_snapshot': ['int_google_ads__ad_snapshot', 'int_meta_ads__ad_snapshot'],
    }) }}
{%- endmacro %}

{#- The models of a union: this project's (project_channel_models) and the linked plug-ins'. -#}
{% macro channel_models(union) -%}
    {%- set models = project_channel_models().get(union, []) | list -%}
    {%- if mdp_plugin_channels is defined -%}
        {%- do models.extend(mdp_plugin_channels.plugin_channel_models().get(union, [])) -%}
    {%- endif -%}
    {{ return(models) }}
{%- endmacro %}

{#- The channel of an `int_<channel>__<union>` model. -#}
{% macro model_channel(model_name) -%}
    {{ return(model_name[4:].split('__')[0]) }}
{%- endmacro %}

{#- The channels that feed a union (default: ad performance, i.e. every channel). -#}
{% macro channels(union='ad_performance') -%}
    {%- set names = [] -%}
    {%- for model_name in channel_models(union) -%}
        {%- do names.append(model_channel(model_name)) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- The union of a report's channel models, each selecting union_fields(union): a select statement. -#}
{% macro channel_union(union) -%}
    {{ union_channels(channel_models(union), union_fields(union), passthrough=(union == 'ad_performance')) }}
{%- endmacro %}

{#- Every union's columns, in order, with their kind (see mdp_type): what each `int_<channel>__<union>` model
    selects. A channel that lacks a field selects null for it. -#}
{% macro union_fields(union) -%}
    {%- set report = [('date_day', 'date'), ('channel', 'string'), ('account_id', 'string'),
                      ('campaign_id', 'string'), ('campaign_name', 'string')] -%}
    {%- set ad_group = [('ad_group_id', 'string'), ('ad_group_name', 'string')] -%}
    {%- set measures = [('impressions', 'integer'), ('clicks', 'integer'), ('spend', 'money'),
                        ('conversions', 'float'), ('conversion_value', 'money')] -%}
    {%- set currency = [('account_currency', 'string')] -%}
    {%- set snapshot = [('snapshot_date', 'date'), ('channel', 'string'), ('account_id', 'string')] -%}
    {%- set fields = {
        'ad_performance': ad_performance_fields(),
        'account_totals': account_totals_fields(),
        'keyword': report + ad_group + [('keyword_id', 'string'), ('keyword_text', 'string'),
                                        ('keyword_match_type', 'string')] + measures + currency,
        'search_term': report + ad_group + [('keyword_id', 'string'), ('search_term', 'string'),
                                            ('keyword_text', 'string'), ('search_term_status', 'string')]
                       + measures + currency,
        'country': report + [('country_code', 'string'), ('country_name', 'string')] + measures + currency,
        'region': report + [('country_code', 'string'), ('region_name', 'string')] + measures + currency,
        'device': report + [('device', 'string'), ('device_detail', 'string')] + measures + currency,
        'platform': report + [('publisher_platform', 'string'), ('platform_position', 'string')]
                    + measures + currency,
        'age_gender': report + [('age_range', 'string'), ('gender', 'string')] + measures + currency,
        'conversion_action': report + [('conversion_action_id', 'string'), ('attribution_window', 'string'),
                                       ('conversion_action_name', 'string'),
                                       ('conversion_action_category', 'string'), ('conversions', 'float'),
                                       ('conversion_value', 'money'), ('all_conversions', 'float')] + currency,
        'campaign_snapshot': snapshot + [('campaign_id', 'string'), ('campaign_name', 'string'),
                                         ('campaign_status', 'string'), ('campaign_type', 'string'),
                                         ('bidding_strategy', 'string'), ('budget_amount', 'money'),
                                         ('budget_period', 'string')],
        'ad_group_snapshot': snapshot + [('ad_group_id', 'string'), ('campaign_id', 'string'),
                                         ('ad_group_name', 'string'), ('ad_group_status', 'string'),
                                         ('budget_amount', 'money'), ('cpc_bid', 'money')],
        'ad_snapshot': snapshot + [('ad_id', 'string'), ('campaign_id', 'string'), ('ad_group_id', 'string'),
                                   ('ad_name', 'string'), ('ad_status', 'string'), ('ad_type', 'string'),
                                   ('final_url', 'string')],
    } -%}
    {%- if union not in fields -%}
        {{ exceptions.raise_compiler_error("union_fields: unknown union '" ~ union ~ "'") }}
    {%- endif -%}
    {{ return(fields[union]) }}
{%- endmacro %}
