"""Errors of the storage layer."""


class DatabaseError(Exception):
    """The database could not be used; the message says what to do next."""


class UnsupportedDatabaseError(DatabaseError):
    """The database URL names a backend Huitong does not support."""


class WriterClosedError(DatabaseError):
    """A write was submitted after the writer was closed (the platform is shutting down)."""
