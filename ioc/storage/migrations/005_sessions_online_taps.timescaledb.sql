SELECT create_hypertable('parking_sessions', by_range('time', INTERVAL '7 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('brt_taps', by_range('time', INTERVAL '7 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
