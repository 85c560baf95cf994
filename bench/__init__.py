"""Benchmarks: acknowledgement latency, ingest throughput, and the projector against limits."""
