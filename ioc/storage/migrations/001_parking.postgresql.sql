-- Without TimescaleDB: a BRIN index keeps time-range scans cheap on an append-mostly table.
CREATE INDEX IF NOT EXISTS parking_occupancy_time_brin ON parking_occupancy USING brin (time);
