{{ breakdown_report(
    'search_term',
    levels=['ad_group'],
    dims=[('keyword_id', 'string'), ('search_term', 'string')],
    attributes=[('keyword_text', 'string'), ('search_term_status', 'string')],
) }}
