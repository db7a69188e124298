-- BRT: vehicle positions (GTFS-Realtime VehiclePosition) and stop events (TripUpdate stops).
CREATE TABLE IF NOT EXISTS brt_vehicle_positions (
    time           timestamptz NOT NULL,
    vehicle_id     text        NOT NULL,
    trip_id        text,
    route_id       text,
    direction_id   smallint,
    stop_id        text,
    stop_sequence  integer,
    status         text,
    occupancy      text,
    lon            double precision NOT NULL,
    lat            double precision NOT NULL,
    district       text,
    PRIMARY KEY (vehicle_id, time)
);

CREATE TABLE IF NOT EXISTS brt_vehicle_latest (LIKE brt_vehicle_positions);
ALTER TABLE brt_vehicle_latest ADD PRIMARY KEY (vehicle_id);

-- Key columns are never null: a missing trip or stop is stored as '' or -1, so that the
-- natural key (trip instance, stop, report time) can be the primary key.
CREATE TABLE IF NOT EXISTS brt_stop_events (
    time           timestamptz NOT NULL,
    trip_id        text        NOT NULL,
    start_date     text        NOT NULL,
    start_time     text        NOT NULL,
    stop_sequence  integer     NOT NULL,
    stop_id        text        NOT NULL,
    route_id       text,
    direction_id   smallint,
    vehicle_id     text,
    arrival_time   timestamptz,
    departure_time timestamptz,
    delay_s        integer,
    district       text,
    PRIMARY KEY (trip_id, start_date, start_time, stop_sequence, stop_id, time)
);
