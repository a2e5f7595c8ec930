"""Command groups whose sub-commands are imported only when run.

A domain's CLI module imports its domain (and that one FastAPI, SQLAlchemy, DuckDB, …), so importing every one
at start made each ``huitong`` command pay about three seconds. A :class:`LazyGroup` knows its sub-commands by a
table of name → :class:`Lazy` (``"module:attribute"`` and the first paragraph of its help): ``huitong <name> …``
imports that one module, and ``--help`` lists the table without importing anything. ``tests/test_cli_lazy.py``
checks that the table's help is the commands' own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from typing import Any, ClassVar, Literal

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info, get_group_from_info
from typer.models import TyperInfo


@dataclass(frozen=True)
class Lazy:
    """One sub-command: where it lives and the help ``--help`` shows for it without importing it."""

    target: str
    """``module:attribute``: a ``typer.Typer`` (kind ``group``), a command function (``command``) or a function
    returning a ``typer.Typer`` (``factory``; called once)."""
    help: str
    """The first paragraph of the command's help, as listed by the parent's ``--help``."""
    kind: Literal["group", "command", "factory"] = "group"


@cache
def _target(target: str, kind: str) -> Any:
    module, _, attribute = target.partition(":")
    value = getattr(importlib.import_module(module), attribute)
    return value() if kind == "factory" else value


def resolve(name: str, entry: Lazy, *, rich_markup_mode: Any, suggest_commands: bool = True) -> _click.Command:
    """Import ``entry`` and build its click command as ``add_typer(…, name=name)`` / ``command(name)`` would."""
    value = _target(entry.target, entry.kind)
    if entry.kind == "command":
        scratch = typer.Typer()
        scratch.command(name)(value)
        return get_command_from_info(
            scratch.registered_commands[0], pretty_exceptions_short=True, rich_markup_mode=rich_markup_mode
        )
    if not isinstance(value, typer.Typer):
        raise TypeError(f"{entry.target} is not a typer.Typer: fix the lazy command table")
    return get_group_from_info(
        TyperInfo(value, name=name),
        pretty_exceptions_short=True,
        suggest_commands=suggest_commands,
        rich_markup_mode=rich_markup_mode,
    )


class LazyGroup(TyperGroup):
    """A Typer group (pass as ``typer.Typer(cls=…)``) that adds the sub-commands of :attr:`lazy` on first use.

    Commands registered on the ``typer.Typer`` itself stay as they are; :attr:`order` lists every name in the
    order ``--help`` shows them (the lazy ones not in it follow, in table order).
    """

    lazy: ClassVar[Mapping[str, Lazy]] = {}
    order: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: _click.Context) -> list[str]:
        names = [*self.order, *self.commands, *self.lazy]
        return [n for n in dict.fromkeys(names) if n in self.commands or n in self.lazy]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return self.commands.get(cmd_name)
        entry = self.lazy[cmd_name]
        if self._listing:  # the parent's --help: the table's help, nothing imported
            return TyperCommand(cmd_name, help=entry.help, rich_markup_mode=self.rich_markup_mode)
        command = resolve(
            cmd_name, entry, rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands
        )
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        try:
            return self._click_resolve_command(ctx, args)
        except _click.exceptions.UsageError as e:  # as TyperGroup's, suggesting the lazy names too
            if self.suggest_commands and args:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    suggestions = ", ".join(f"{m!r}" for m in matches)
                    e.message = f"{e.message.rstrip('.')}. Did you mean {suggestions}?"
            raise
