"""Schema migrations judged statement by statement: locks, effects, safe rewrites, plans.

Pure: no driver. The live evidence (sizes, traffic, lock holders) is read by
`pgsage.analyzer.live.migration` and handed in as `evidence.Evidence`.
"""
