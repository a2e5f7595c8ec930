"""EMPI errors, and the exit codes the ``huitong empi`` commands end with."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``huitong empi …`` (tests assert on them)."""

    OK = 0
    BAD_INPUT = 2
    NO_MODEL = 3
    NOT_FOUND = 4
    CONFLICT = 5
    ENGINE_UNAVAILABLE = 6


class EmpiError(Exception):
    """Base of every EMPI error; ``exit_code`` is what the CLI exits with."""

    exit_code = ExitCode.BAD_INPUT


class ModelError(EmpiError):
    """The model artefact is missing, unreadable or does not fit this version's comparisons."""

    exit_code = ExitCode.NO_MODEL


class InputError(EmpiError):
    """A batch input file or a record is unusable (missing columns, duplicate ids)."""

    exit_code = ExitCode.BAD_INPUT


class NotFoundError(EmpiError):
    """A record, person or review item does not exist."""

    exit_code = ExitCode.NOT_FOUND


class ConflictError(EmpiError):
    """The operation contradicts the index (un-merging a person that was never merged, deciding twice)."""

    exit_code = ExitCode.CONFLICT


class EngineUnavailableError(EmpiError):
    """The batch engine asked for (Spark) is not installed or cannot start."""

    exit_code = ExitCode.ENGINE_UNAVAILABLE


class SealedValueError(EmpiError):
    """The index holds a value encrypted under a field key this process does not have."""

    exit_code = ExitCode.BAD_INPUT
