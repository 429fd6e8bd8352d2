{{ breakdown_report(
    'keyword',
    levels=['ad_group'],
    dims=[('keyword_id', 'string')],
    attributes=[('keyword_text', 'string'), ('keyword_match_type', 'string')],
) }}
