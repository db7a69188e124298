-- Parking occupancy, one row per site, vehicle type and source timestamp.
-- The primary key is the natural key: a replayed observation is stored once.
CREATE TABLE IF NOT EXISTS parking_occupancy (
    time         timestamptz NOT NULL,
    site_id      text        NOT NULL,
    vehicle_type text        NOT NULL,
    district     text,
    capacity     integer     NOT NULL CHECK (capacity >= 0),
    occupied     integer     NOT NULL CHECK (occupied >= 0),
    status       text        NOT NULL,
    PRIMARY KEY (site_id, vehicle_type, time)
);

-- Live state: the newest observation per site and vehicle type, kept in the same
-- transaction as the history so that the two never disagree.
CREATE TABLE IF NOT EXISTS parking_latest (
    site_id      text        NOT NULL,
    vehicle_type text        NOT NULL,
    time         timestamptz NOT NULL,
    district     text,
    capacity     integer     NOT NULL,
    occupied     integer     NOT NULL,
    status       text        NOT NULL,
    lon          double precision NOT NULL,
    lat          double precision NOT NULL,
    PRIMARY KEY (site_id, vehicle_type)
);
CREATE INDEX IF NOT EXISTS parking_latest_district ON parking_latest (district);

-- Rejected records from every feed, with the reason, for operators to inspect and replay.
CREATE TABLE IF NOT EXISTS dead_letter (
    id          bigserial   PRIMARY KEY,
    feed        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    reason      text        NOT NULL,
    payload     text        NOT NULL,
    entry_id    text        NOT NULL,
    position    integer     NOT NULL,
    UNIQUE (entry_id, position)
);
CREATE INDEX IF NOT EXISTS dead_letter_feed_time ON dead_letter (feed, received_at DESC);
