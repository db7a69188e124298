SELECT create_hypertable('parking_occupancy', by_range('time', INTERVAL '1 day'),
                         if_not_exists => TRUE, migrate_data => TRUE);
CREATE INDEX IF NOT EXISTS parking_occupancy_district_time
    ON parking_occupancy (district, time DESC);
