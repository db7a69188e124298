-- Compression and retention are TimescaleDB features; see the timescaledb variant. On plain
-- PostgreSQL old rows are kept until the roll-ups and their retention jobs arrive.
SELECT 1;
