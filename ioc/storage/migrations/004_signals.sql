-- Traffic signals: the high-resolution controller event log (Indiana enumeration), and each
-- unit's status as it changes.
CREATE TABLE IF NOT EXISTS signal_events (
    time       timestamptz NOT NULL,
    signal_id  text        NOT NULL,
    event_code smallint    NOT NULL,
    parameter  integer     NOT NULL,
    district   text,
    PRIMARY KEY (signal_id, time, event_code, parameter)
);

CREATE TABLE IF NOT EXISTS signal_status (
    time      timestamptz NOT NULL,
    signal_id text        NOT NULL,
    state     text        NOT NULL,
    reason    text,
    since     timestamptz,
    district  text,
    PRIMARY KEY (signal_id, time)
);

CREATE TABLE IF NOT EXISTS signal_status_latest (
    time      timestamptz NOT NULL,
    signal_id text        PRIMARY KEY,
    state     text        NOT NULL,
    reason    text,
    since     timestamptz,
    district  text,
    lon       double precision,
    lat       double precision
);
CREATE INDEX IF NOT EXISTS signal_status_latest_district ON signal_status_latest (district);
