{{ breakdown_report('device', dims=[('device', 'string'), ('device_detail', 'string')]) }}
