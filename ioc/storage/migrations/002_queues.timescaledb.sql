SELECT create_hypertable('queue_ticket_events', by_range('time', INTERVAL '7 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('queue_counter_snapshots', by_range('time', INTERVAL '7 days'),
                         if_not_exists => TRUE, migrate_data => TRUE);
