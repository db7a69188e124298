-- Parking sessions (iParking style): a start report and an end report per session, each
-- stored once. No plate number ever reaches this table: the parser refuses records with one.
CREATE TABLE IF NOT EXISTS parking_sessions (
    time         timestamptz NOT NULL,  -- when the session started
    site_id      text        NOT NULL,
    session_id   text        NOT NULL,
    ended        boolean     NOT NULL,
    vehicle_type text        NOT NULL,
    ended_at     timestamptz,
    amount_vnd   bigint,
    payment      text,
    district     text,
    PRIMARY KEY (site_id, session_id, ended, time)
);

-- Online public-service applications per district, day and level (3 "partial", 4
-- "end-to-end"). Counts are cumulative over the day, so the largest reported one is kept.
CREATE TABLE IF NOT EXISTS online_applications (
    day          date    NOT NULL,
    district     text    NOT NULL,
    level        text    NOT NULL,
    applications integer NOT NULL CHECK (applications >= 0),
    PRIMARY KEY (district, day, level)
);

-- BRT smart-card taps: a keyed hash of the card, never its number.
CREATE TABLE IF NOT EXISTS brt_taps (
    time      timestamptz NOT NULL,
    card_hash text        NOT NULL,
    stop_id   text        NOT NULL,
    district  text,
    PRIMARY KEY (card_hash, stop_id, time)
);
