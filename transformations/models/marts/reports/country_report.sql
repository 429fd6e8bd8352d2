{{ breakdown_report('country', dims=[('country_code', 'string')], attributes=[('country_name', 'string')]) }}
