"""``make bench``: measured performance of the gateway; see bench/run.py and docs/performance.md."""
