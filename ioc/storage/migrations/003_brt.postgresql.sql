CREATE INDEX IF NOT EXISTS brt_vehicle_positions_time_brin
    ON brt_vehicle_positions USING brin (time);
CREATE INDEX IF NOT EXISTS brt_stop_events_time_brin ON brt_stop_events USING brin (time);
