-- Compression (columnar, segmented by the asset so one asset's history reads fast) and
-- retention of raw rows. Both need the Timescale License build (the Docker image has it);
-- an Apache-only build keeps every row uncompressed.
DO $$
BEGIN
    IF current_setting('timescaledb.license', true) IS DISTINCT FROM 'timescale' THEN
        RAISE NOTICE 'timescaledb is the Apache-only build: no compression or retention';
        RETURN;
    END IF;
    ALTER TABLE signal_events SET (timescaledb.compress,
        timescaledb.compress_segmentby = 'signal_id', timescaledb.compress_orderby = 'time');
    PERFORM add_compression_policy('signal_events', INTERVAL '2 days', if_not_exists => TRUE);
    PERFORM add_retention_policy('signal_events', INTERVAL '400 days', if_not_exists => TRUE);

    ALTER TABLE parking_occupancy SET (timescaledb.compress,
        timescaledb.compress_segmentby = 'site_id, vehicle_type',
        timescaledb.compress_orderby = 'time');
    PERFORM add_compression_policy('parking_occupancy', INTERVAL '7 days', if_not_exists => TRUE);
    PERFORM add_retention_policy('parking_occupancy', INTERVAL '730 days', if_not_exists => TRUE);

    ALTER TABLE brt_vehicle_positions SET (timescaledb.compress,
        timescaledb.compress_segmentby = 'vehicle_id', timescaledb.compress_orderby = 'time');
    PERFORM add_compression_policy('brt_vehicle_positions', INTERVAL '7 days',
                                   if_not_exists => TRUE);
    PERFORM add_retention_policy('brt_vehicle_positions', INTERVAL '730 days',
                                 if_not_exists => TRUE);

    ALTER TABLE brt_stop_events SET (timescaledb.compress,
        timescaledb.compress_segmentby = 'trip_id', timescaledb.compress_orderby = 'time');
    PERFORM add_compression_policy('brt_stop_events', INTERVAL '7 days', if_not_exists => TRUE);
    PERFORM add_retention_policy('brt_stop_events', INTERVAL '400 days', if_not_exists => TRUE);

    ALTER TABLE queue_ticket_events SET (timescaledb.compress,
        timescaledb.compress_segmentby = 'point_id', timescaledb.compress_orderby = 'time');
    PERFORM add_compression_policy('queue_ticket_events', INTERVAL '30 days',
                                   if_not_exists => TRUE);
END
$$;
