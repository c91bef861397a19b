"""Benchmark suite for coop-ledger (issue 7): `python -m bench [--quick]` prints one table."""
