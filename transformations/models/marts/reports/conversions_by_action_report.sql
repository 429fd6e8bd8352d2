{{ breakdown_report(
    'conversion_action',
    dims=[('conversion_action_id', 'string'), ('attribution_window', 'string')],
    attributes=[('conversion_action_name', 'string'), ('conversion_action_category', 'string')],
    measures=[('conversions', 'float'), ('conversion_value', 'money'), ('all_conversions', 'float')],
) }}
