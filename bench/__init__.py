"""Benchmarks: run with `make bench`. Each prints measurements taken side by side in one run."""
