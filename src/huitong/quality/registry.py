"""The rule registry. Built-in rules register exactly as an outside package would: by module discovery here,
or by calling :func:`register` with a rule object."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from huitong.quality import rules as _rules_package
from huitong.quality.errors import QualityError
from huitong.quality.rule import Rule

_extra: list[Rule] = []


def register(rule: Rule) -> None:
    """Add a rule from outside the built-in set (a hospital's own rules)."""
    if any(r.id == rule.id for r in all_rules()):
        raise QualityError(f"a rule with id {rule.id!r} is already registered")
    _extra.append(rule)


@cache
def builtin_rules() -> tuple[Rule, ...]:
    """Every module in ``huitong.quality.rules`` that declares ``RULE``, ordered by dimension then id."""
    found: list[Rule] = []
    for info in pkgutil.iter_modules(_rules_package.__path__):
        module = importlib.import_module(f"{_rules_package.__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if rule is None:
            raise QualityError(f"rule module {info.name} declares no RULE")
        if rule.id != info.name.replace("_", "-"):
            raise QualityError(f"rule module {info.name} must declare the id {info.name.replace('_', '-')!r}")
        found.append(rule)
    return tuple(sorted(found, key=lambda r: (r.dimension.value, r.id)))


def all_rules() -> list[Rule]:
    """Built-in and registered rules."""
    return [*builtin_rules(), *_extra]


def rule(rule_id: str) -> Rule:
    """The rule with ``rule_id``."""
    for r in all_rules():
        if r.id == rule_id:
            return r
    raise QualityError(f"no rule {rule_id!r}; see `huitong quality rules`")
