"""Errors of the synthetic-hospital generator."""

from __future__ import annotations


class SynthError(Exception):
    """Base class: the generator cannot do what was asked; the message says why."""


class UnknownScaleError(SynthError):
    """The scale name is not one of ``tiny``, ``small`` or ``hospital-year``."""


class OutputExistsError(SynthError):
    """The output directory already holds a generated data set and overwriting was not allowed."""


class DefectConfigError(SynthError):
    """A defect rate names an unknown defect kind or lies outside 0–1."""


class OutputFormatError(SynthError):
    """A generated file does not have the shape its reader expects."""
