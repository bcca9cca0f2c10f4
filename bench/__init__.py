"""Reproducible benchmarks (run on demand, never in CI); see bench/README.md."""
