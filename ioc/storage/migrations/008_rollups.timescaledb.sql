-- TimescaleDB: parking, signals, BRT positions and taps roll up as continuous aggregates,
-- the 15-minute and hourly ones hierarchical on the 1-minute one (TimescaleDB 2.9+), each
-- refreshed by its policy, with real-time aggregation (materialized_only = false) so the
-- minutes not yet materialised are answered from raw rows. The policies refresh recent
-- buckets only: rows already stored (or bulk-loaded) before an aggregate's first refresh are
-- refreshed once by ioc.history.maintainer.backfill_continuous. Queue roll-ups stay tables (base
-- file). Continuous aggregates need the Timescale License build, as compression does in
-- 006; the Apache-only build gets tables kept by the maintainer, as plain PostgreSQL does.
-- Retention per feed (raw tables and the 1-minute aggregates) is applied at start-up from
-- the settings by ioc.history.maintainer.apply_timescale_retention.
-- A database that ran on plain PostgreSQL before TimescaleDB came holds these roll-ups as
-- tables. They are derived data: drop them (and their watermarks) so that the aggregates take
-- their names and the maintainer's one-off backfill rebuilds them from the raw rows.
CREATE OR REPLACE FUNCTION ioc_rollup_drop_tables(rollups text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    name  text;
    width text;
BEGIN
    FOREACH name IN ARRAY rollups LOOP
        FOREACH width IN ARRAY ARRAY['1h', '15m', '1m'] LOOP
            IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass(name || '_' || width)
                       AND relkind = 'r') THEN
                EXECUTE format('DROP TABLE %I', name || '_' || width);
            END IF;
        END LOOP;
        DELETE FROM rollup_watermarks WHERE rollup = name;
    END LOOP;
END
$$;

DO $$
BEGIN
    IF current_setting('timescaledb.license', true) IS DISTINCT FROM 'timescale' THEN
        RAISE NOTICE 'timescaledb is the Apache-only build: roll-ups are tables';
        PERFORM ioc_rollup_plain_tables();
        RETURN;
    END IF;
    PERFORM ioc_rollup_drop_tables(ARRAY['parking', 'signals', 'brt', 'taps']);

    -- parking: Car-park occupancy readings, all vehicle types together.
    CREATE MATERIALIZED VIEW parking_1m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, site_id AS asset_id,
           coalesce(district, '') AS district,
           count(*) AS samples,
           sum(occupied)::bigint AS occupied_sum,
           sum(capacity)::bigint AS capacity_sum,
           max(occupied::float8 / nullif(capacity, 0)) AS peak_share
    FROM parking_occupancy
    GROUP BY time_bucket(INTERVAL '1 minute', time), site_id, coalesce(district, '')
    WITH NO DATA;
    CREATE MATERIALIZED VIEW parking_15m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '15 minutes', bucket) AS bucket, asset_id, district,
           sum(samples)::bigint AS samples,
           sum(occupied_sum)::bigint AS occupied_sum,
           sum(capacity_sum)::bigint AS capacity_sum,
           max(peak_share) AS peak_share
    FROM parking_1m
    GROUP BY time_bucket(INTERVAL '15 minutes', bucket), asset_id, district
    WITH NO DATA;
    CREATE MATERIALIZED VIEW parking_1h
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, asset_id, district,
           sum(samples)::bigint AS samples,
           sum(occupied_sum)::bigint AS occupied_sum,
           sum(capacity_sum)::bigint AS capacity_sum,
           max(peak_share) AS peak_share
    FROM parking_1m
    GROUP BY time_bucket(INTERVAL '1 hour', bucket), asset_id, district
    WITH NO DATA;
    PERFORM add_continuous_aggregate_policy('parking_1m',
        start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute',
        schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('parking_15m',
        start_offset => INTERVAL '1 day', end_offset => INTERVAL '15 minutes',
        schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('parking_1h',
        start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
        schedule_interval => INTERVAL '15 minutes', if_not_exists => TRUE);

    -- signals: High-resolution controller events (Indiana enumeration) counted by kind.
    CREATE MATERIALIZED VIEW signals_1m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, signal_id AS asset_id,
           coalesce(district, '') AS district,
           count(*) AS events,
           count(*) FILTER (WHERE event_code = 1) AS greens,
           count(*) FILTER (WHERE event_code = 4) AS gap_outs,
           count(*) FILTER (WHERE event_code = 5) AS max_outs,
           count(*) FILTER (WHERE event_code = 6) AS force_offs,
           count(*) FILTER (WHERE event_code = 45) AS ped_calls,
           count(*) FILTER (WHERE event_code = 82) AS detector_on,
           count(*) FILTER (WHERE event_code BETWEEN 84 AND 88) AS detector_faults,
           count(*) FILTER (WHERE event_code = 173 AND parameter <> 2) AS flash_events,
           count(*) FILTER (WHERE event_code = 102) AS preempts,
           count(*) FILTER (WHERE event_code = 182) AS power_failures
    FROM signal_events
    GROUP BY time_bucket(INTERVAL '1 minute', time), signal_id, coalesce(district, '')
    WITH NO DATA;
    CREATE MATERIALIZED VIEW signals_15m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '15 minutes', bucket) AS bucket, asset_id, district,
           sum(events)::bigint AS events,
           sum(greens)::bigint AS greens,
           sum(gap_outs)::bigint AS gap_outs,
           sum(max_outs)::bigint AS max_outs,
           sum(force_offs)::bigint AS force_offs,
           sum(ped_calls)::bigint AS ped_calls,
           sum(detector_on)::bigint AS detector_on,
           sum(detector_faults)::bigint AS detector_faults,
           sum(flash_events)::bigint AS flash_events,
           sum(preempts)::bigint AS preempts,
           sum(power_failures)::bigint AS power_failures
    FROM signals_1m
    GROUP BY time_bucket(INTERVAL '15 minutes', bucket), asset_id, district
    WITH NO DATA;
    CREATE MATERIALIZED VIEW signals_1h
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, asset_id, district,
           sum(events)::bigint AS events,
           sum(greens)::bigint AS greens,
           sum(gap_outs)::bigint AS gap_outs,
           sum(max_outs)::bigint AS max_outs,
           sum(force_offs)::bigint AS force_offs,
           sum(ped_calls)::bigint AS ped_calls,
           sum(detector_on)::bigint AS detector_on,
           sum(detector_faults)::bigint AS detector_faults,
           sum(flash_events)::bigint AS flash_events,
           sum(preempts)::bigint AS preempts,
           sum(power_failures)::bigint AS power_failures
    FROM signals_1m
    GROUP BY time_bucket(INTERVAL '1 hour', bucket), asset_id, district
    WITH NO DATA;
    PERFORM add_continuous_aggregate_policy('signals_1m',
        start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute',
        schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('signals_15m',
        start_offset => INTERVAL '1 day', end_offset => INTERVAL '15 minutes',
        schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('signals_1h',
        start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
        schedule_interval => INTERVAL '15 minutes', if_not_exists => TRUE);

    -- brt: BRT vehicle positions (GTFS-Realtime) by route.
    CREATE MATERIALIZED VIEW brt_1m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, coalesce(route_id, '') AS asset_id,
           coalesce(district, '') AS district,
           count(*) AS reports,
           count(*) FILTER (WHERE status = 'STOPPED_AT') AS stopped,
           count(occupancy) AS occupancy_known,
           count(*) FILTER (WHERE occupancy IN ('STANDING_ROOM_ONLY', 'CRUSHED_STANDING_ROOM_ONLY', 'FULL', 'NOT_ACCEPTING_PASSENGERS')) AS crowded
    FROM brt_vehicle_positions
    GROUP BY time_bucket(INTERVAL '1 minute', time), coalesce(route_id, ''), coalesce(district, '')
    WITH NO DATA;
    CREATE MATERIALIZED VIEW brt_15m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '15 minutes', bucket) AS bucket, asset_id, district,
           sum(reports)::bigint AS reports,
           sum(stopped)::bigint AS stopped,
           sum(occupancy_known)::bigint AS occupancy_known,
           sum(crowded)::bigint AS crowded
    FROM brt_1m
    GROUP BY time_bucket(INTERVAL '15 minutes', bucket), asset_id, district
    WITH NO DATA;
    CREATE MATERIALIZED VIEW brt_1h
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, asset_id, district,
           sum(reports)::bigint AS reports,
           sum(stopped)::bigint AS stopped,
           sum(occupancy_known)::bigint AS occupancy_known,
           sum(crowded)::bigint AS crowded
    FROM brt_1m
    GROUP BY time_bucket(INTERVAL '1 hour', bucket), asset_id, district
    WITH NO DATA;
    PERFORM add_continuous_aggregate_policy('brt_1m',
        start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute',
        schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('brt_15m',
        start_offset => INTERVAL '1 day', end_offset => INTERVAL '15 minutes',
        schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('brt_1h',
        start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
        schedule_interval => INTERVAL '15 minutes', if_not_exists => TRUE);

    -- taps: Smart-card taps at BRT stations (boardings); cards never leave the raw table.
    CREATE MATERIALIZED VIEW taps_1m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, stop_id AS asset_id,
           coalesce(district, '') AS district,
           count(*) AS taps
    FROM brt_taps
    GROUP BY time_bucket(INTERVAL '1 minute', time), stop_id, coalesce(district, '')
    WITH NO DATA;
    CREATE MATERIALIZED VIEW taps_15m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '15 minutes', bucket) AS bucket, asset_id, district,
           sum(taps)::bigint AS taps
    FROM taps_1m
    GROUP BY time_bucket(INTERVAL '15 minutes', bucket), asset_id, district
    WITH NO DATA;
    CREATE MATERIALIZED VIEW taps_1h
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, asset_id, district,
           sum(taps)::bigint AS taps
    FROM taps_1m
    GROUP BY time_bucket(INTERVAL '1 hour', bucket), asset_id, district
    WITH NO DATA;
    PERFORM add_continuous_aggregate_policy('taps_1m',
        start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute',
        schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('taps_15m',
        start_offset => INTERVAL '1 day', end_offset => INTERVAL '15 minutes',
        schedule_interval => INTERVAL '5 minutes', if_not_exists => TRUE);
    PERFORM add_continuous_aggregate_policy('taps_1h',
        start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
        schedule_interval => INTERVAL '15 minutes', if_not_exists => TRUE);
END
$$;
