SELECT create_hypertable('parking_occupancy', by_range('time', INTERVAL '1 day'),
                         if_not_exists => TRUE, migrate_data => TRUE);
