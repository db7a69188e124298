-- One-stop-shop queues: ticket lifecycle events and counter snapshots.
-- The natural key of an event is (point, ticket, event); time is part of the primary key
-- because a hypertable's unique keys must include its time column.
CREATE TABLE IF NOT EXISTS queue_ticket_events (
    time         timestamptz NOT NULL,
    point_id     text        NOT NULL,
    ticket_id    text        NOT NULL,
    event        text        NOT NULL,
    service_type text        NOT NULL,
    counter_id   text,
    district     text,
    PRIMARY KEY (point_id, ticket_id, event, time)
);

CREATE TABLE IF NOT EXISTS queue_counter_snapshots (
    time          timestamptz NOT NULL,
    point_id      text        NOT NULL,
    counters_open integer     NOT NULL CHECK (counters_open >= 0),
    waiting_total integer     NOT NULL CHECK (waiting_total >= 0),
    waiting       jsonb       NOT NULL,
    district      text,
    PRIMARY KEY (point_id, time)
);

CREATE TABLE IF NOT EXISTS queue_latest (
    time          timestamptz NOT NULL,
    point_id      text        PRIMARY KEY,
    counters_open integer     NOT NULL,
    waiting_total integer     NOT NULL,
    waiting       jsonb       NOT NULL,
    district      text,
    lon           double precision NOT NULL,
    lat           double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_latest_district ON queue_latest (district);
