"""Benchmarks of ingest, export, scoring, training, the GraphQL API and neighbour sampling.

``python -m bench`` (``make bench``) runs them all, writes ``bench/results.json``
and prints one table per benchmark; ``python -m bench --quick`` runs every
benchmark at toy size, which is what ``tests/bench`` checks. Each figure is
the median of several runs, paired with a baseline measured in the same run.
"""
