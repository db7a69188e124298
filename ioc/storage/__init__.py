"""PostgreSQL / TimescaleDB storage: pool, migrations, writes and queries."""
