"""``make bench``: measured performance of the gateway; see bench/run.py and the README's "Performance"."""
