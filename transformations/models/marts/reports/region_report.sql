{{ breakdown_report('region', dims=[('country_code', 'string'), ('region_name', 'string')]) }}
