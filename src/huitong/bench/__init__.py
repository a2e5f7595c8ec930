"""Benchmarks: ``huitong bench <name> --json``. Each prints one JSON object as its last line."""
