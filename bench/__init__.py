"""Benchmarks of the platform kit, each stage against its raw limit (see README.md)."""
