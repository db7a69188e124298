"""Public-service queues: one-stop-shop ticket events, counter snapshots, online applications."""
