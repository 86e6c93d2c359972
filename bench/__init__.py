"""Benchmarks, run with `make bench`; each writes its own section of docs/benchmarks.md."""
