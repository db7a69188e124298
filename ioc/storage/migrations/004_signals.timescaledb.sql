SELECT create_hypertable('signal_events', by_range('time', INTERVAL '1 day'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('signal_status', by_range('time', INTERVAL '30 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
