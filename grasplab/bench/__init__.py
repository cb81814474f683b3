"""Benchmarks that print tables (figures are recorded in BENCHMARKS.md)."""
