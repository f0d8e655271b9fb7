"""The simulator with ground truth, scoring against it, and the benchmark."""
