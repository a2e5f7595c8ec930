"""Errors of the terminology domain."""


class TerminologyError(Exception):
    """A dictionary cannot be loaded or a terminology request cannot be answered; the message says why."""
