"""The process's Prometheus metrics (served at /metrics in the text format).

prometheus_client keeps metrics in a registry for the process; they are declared here once
so every part of the service counts under the same names. Figures that already live
somewhere (feed counts in Redis, the live hub's counters, open situations) are read when
/metrics is scraped instead (ioc.api.metrics).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

TASK_RESTARTS = Counter(
    "ioc_task_restarts_total", "Restarts of a supervised long-running task", ["task"])
MEASURE_FAILURES = Counter(
    "ioc_measure_failures_total",
    "Measures or rules that raised for one asset and were marked unavailable",
    ["measure"])
WRITER_COMMIT_SECONDS = Histogram(
    "ioc_writer_commit_seconds", "Time to store and commit one batch of bus entries",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
WRITER_DELTA_FAILURES = Counter(
    "ioc_writer_delta_failures_total",
    "Committed batches whose live deltas could not be computed (stored, not announced)",
    ["feed"])
