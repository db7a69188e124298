-- Plain PostgreSQL: every roll-up is a table kept current by the maintainer.
SELECT ioc_rollup_plain_tables();
