"""Errors of the data-quality domain."""


class QualityError(Exception):
    """A rule is malformed or a run cannot proceed; the message says why."""
