"""A local stack for the demo, the integration tests and the benchmarks."""
