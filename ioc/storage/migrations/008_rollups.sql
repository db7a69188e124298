-- Roll-ups of every feed's KPIs per asset and district at 1 minute, 15 minutes and 1 hour,
-- named <roll-up>_1m, _15m and _1h with the columns (bucket, asset_id, district, measures…)
-- in both storage modes; ioc/history/rollups.py defines what each measure aggregates.
-- Measures are counts, sums and maxima only, so coarse buckets are exact merges of fine ones.

-- How far the maintainer (ioc/history/maintainer.py) has rolled each table-kept roll-up up.
CREATE TABLE IF NOT EXISTS rollup_watermarks (
    rollup     text        PRIMARY KEY,
    done_until timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The three tables of one roll-up kept by the maintainer; `district` is '' outside the city.
CREATE OR REPLACE FUNCTION ioc_rollup_tables(rollup text, measures text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    width    text;
    relation text;
BEGIN
    FOREACH width IN ARRAY ARRAY['1m', '15m', '1h'] LOOP
        relation := rollup || '_' || width;
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I (bucket timestamptz NOT NULL, '
                       || 'asset_id text NOT NULL, district text NOT NULL, %s, '
                       || 'PRIMARY KEY (bucket, asset_id, district))', relation, measures);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (district, bucket)',
                       relation || '_district', relation);
        EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I (asset_id, bucket)',
                       relation || '_asset', relation);
    END LOOP;
END
$$;

-- The roll-ups that TimescaleDB keeps as continuous aggregates when it can (see the
-- timescaledb variant), as tables otherwise.
CREATE OR REPLACE FUNCTION ioc_rollup_plain_tables()
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ioc_rollup_tables('parking',
        'samples bigint NOT NULL, occupied_sum bigint NOT NULL, capacity_sum bigint NOT NULL, '
        || 'peak_share double precision');
    PERFORM ioc_rollup_tables('signals',
        'events bigint NOT NULL, greens bigint NOT NULL, gap_outs bigint NOT NULL, '
        || 'max_outs bigint NOT NULL, force_offs bigint NOT NULL, ped_calls bigint NOT NULL, '
        || 'detector_on bigint NOT NULL, detector_faults bigint NOT NULL, '
        || 'flash_events bigint NOT NULL, preempts bigint NOT NULL, '
        || 'power_failures bigint NOT NULL');
    PERFORM ioc_rollup_tables('brt',
        'reports bigint NOT NULL, stopped bigint NOT NULL, occupancy_known bigint NOT NULL, '
        || 'crowded bigint NOT NULL');
    PERFORM ioc_rollup_tables('taps', 'taps bigint NOT NULL');
END
$$;

-- Queue waits pair each ticket's call with its issue (a self-join) and are judged against
-- each desk's target (a parameter): no continuous aggregate can hold that, so these are
-- tables kept by the maintainer in both modes.
SELECT ioc_rollup_tables('queues',
    'issued bigint NOT NULL, called bigint NOT NULL, served bigint NOT NULL, '
    || 'no_shows bigint NOT NULL, waits bigint NOT NULL, wait_sum_ms bigint, '
    || 'wait_max_ms bigint, within_target bigint NOT NULL');
