"""Speed at scale: data sets of 10 000 and 1 000 000 cases and a benchmark through the full Flask stack.

Run ``python -m bench.run --size S --db sqlite`` (see ``bench/run.py``).
"""
