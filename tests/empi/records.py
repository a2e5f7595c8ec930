"""The test data generator lives in :mod:`huitong.empi.sample` (the benchmark uses it too)."""

from huitong.empi.sample import generate

__all__ = ["generate"]
