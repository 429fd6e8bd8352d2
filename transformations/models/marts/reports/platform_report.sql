{{ breakdown_report('platform', dims=[('publisher_platform', 'string'), ('platform_position', 'string')]) }}
