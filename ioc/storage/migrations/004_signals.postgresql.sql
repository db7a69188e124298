CREATE INDEX IF NOT EXISTS signal_events_time_brin ON signal_events USING brin (time);
