SELECT create_hypertable('brt_vehicle_positions', by_range('time', INTERVAL '1 day'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('brt_stop_events', by_range('time', INTERVAL '1 day'),
                         if_not_exists => TRUE, migrate_data => TRUE);
