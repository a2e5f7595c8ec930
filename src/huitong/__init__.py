"""Huitong (汇通): a smart-hospital data platform."""

__version__ = "0.1.0"
