"""Outside the library: the benchmark (`python -m benchmarks`), the load test
(`python -m benchmarks.loadtest`) and the app on loopback for them and the UI tests."""
