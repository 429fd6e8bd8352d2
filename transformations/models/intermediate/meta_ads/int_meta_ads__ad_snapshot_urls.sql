{#- Meta ads with their landing page: the creative's link with its url_tags appended, the dynamic
    parameters Meta fills in at delivery (campaign.name, adset.name, ad.name and their ids, each in double
    braces) replaced by the values of the same snapshot. -#}

with

ads as (

    select * from {{ ref('stg_meta_ads__ad_snapshot') }}

),

creatives as (

    select * from {{ ref('stg_meta_ads__creative_snapshot') }}

),

campaigns as (

    select * from {{ ref('stg_meta_ads__campaign_snapshot') }}

),

ad_sets as (

    select * from {{ ref('stg_meta_ads__adset_snapshot') }}

),

joined as (

    select
        ads.snapshot_date,
        ads.channel,
        ads.account_id,
        ads.campaign_id,
        ads.ad_group_id,
        ads.ad_id,
        ads.ad_name,
        ads.ad_status,
        creatives.creative_object_type as ad_type,
        campaigns.campaign_name,
        ad_sets.ad_group_name,
        case
            when creatives.link_url is null then null
            when coalesce(creatives.url_tags, '') = '' then creatives.link_url
            when creatives.link_url like '%?%' then creatives.link_url || '&' || creatives.url_tags
            else creatives.link_url || '?' || creatives.url_tags
        end as tagged_url

    from ads
    left join creatives
        on
            ads.snapshot_date = creatives.snapshot_date
            and ads.account_id = creatives.account_id
            and ads.creative_id = creatives.creative_id
    left join campaigns
        on
            ads.snapshot_date = campaigns.snapshot_date
            and ads.account_id = campaigns.account_id
            and ads.campaign_id = campaigns.campaign_id
    left join ad_sets
        on
            ads.snapshot_date = ad_sets.snapshot_date
            and ads.account_id = ad_sets.account_id
            and ads.ad_group_id = ad_sets.ad_group_id

)

select
    snapshot_date,
    channel,
    account_id,
    campaign_id,
    ad_group_id,
    ad_id,
    ad_name,
    ad_status,
    ad_type,
    {%- set ns = namespace(url='tagged_url') %}
    {%- for macro_name, column in [('campaign.name', 'campaign_name'), ('adset.name', 'ad_group_name'),
                                   ('ad.name', 'ad_name'), ('campaign.id', 'campaign_id'),
                                   ('adset.id', 'ad_group_id'), ('ad.id', 'ad_id')] %}
        {%- set ns.url = "replace(" ~ ns.url ~ ", '{{" ~ macro_name ~ "}}', coalesce(" ~ column ~ ", ''))" %}
    {%- endfor %}
    {{ ns.url }} as final_url

from joined
