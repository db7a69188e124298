CREATE INDEX IF NOT EXISTS queue_ticket_events_time_brin ON queue_ticket_events USING brin (time);
CREATE INDEX IF NOT EXISTS queue_counter_snapshots_time_brin
    ON queue_counter_snapshots USING brin (time);
