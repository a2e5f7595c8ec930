"""Errors of backup, restore, recovery and archive, each with the exit code the CLI returns for it."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``huitong backup …`` and ``huitong ops …`` (tests and cron wrappers assert on them)."""

    OK = 0
    FAILED = 1
    NOT_FOUND = 3
    REFUSED = 4
    VERIFY_FAILED = 5
    KEY_MISSING = 6
    TOOL_MISSING = 7


class OpsError(Exception):
    """Base of the operations errors."""

    exit_code: ExitCode = ExitCode.FAILED


class BackupNotFoundError(OpsError):
    """No backup with that id or path."""

    exit_code = ExitCode.NOT_FOUND


class RefusedError(OpsError):
    """The operation would destroy data and was not forced (``--force``)."""

    exit_code = ExitCode.REFUSED


class VerificationError(OpsError):
    """A backup, a file or a restored database does not match its manifest."""

    exit_code = ExitCode.VERIFY_FAILED


class KeyMissingError(OpsError):
    """An encrypted backup cannot be read with any configured key."""

    exit_code = ExitCode.KEY_MISSING


class ToolMissingError(OpsError):
    """A PostgreSQL program (pg_dump, pg_restore, pg_basebackup, pg_ctl) cannot be found."""

    exit_code = ExitCode.TOOL_MISSING


class ToolFailedError(OpsError):
    """A PostgreSQL program exited with an error."""
