CREATE INDEX IF NOT EXISTS parking_sessions_time_brin ON parking_sessions USING brin (time);
CREATE INDEX IF NOT EXISTS brt_taps_time_brin ON brt_taps USING brin (time);
