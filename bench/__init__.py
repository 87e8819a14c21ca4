"""Benchmarks of the service against what its own stack can do on the same machine.

Each module runs with one command (`python -m bench.<name>`) and prints its figures; the results
are recorded in docs/BENCHMARKS.md.
"""
