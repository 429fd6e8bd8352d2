{{ breakdown_report('age_gender', dims=[('age_range', 'string'), ('gender', 'string')]) }}
