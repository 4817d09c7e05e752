"""`pgsage serve`: the long-lived sidecar.

Scheduled collection over asyncpg (`runner`, `session`), a rolling window of snapshots per
target (`window`), rules after every cycle (`analysis`), Prometheus metrics from the latest
state (`metrics`), and a small HTTP server (`http`). `service` wires them together.

Importing this package is cheap on purpose: `analyzer.config` reads the sidecar's settings
from `analyzer.sidecar.settings` without pulling in asyncpg, APScheduler or prometheus_client.
"""
