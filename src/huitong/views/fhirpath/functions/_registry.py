"""Where functions register: ``@function("name", min_args, max_args)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from huitong.views.fhirpath.context import Collection, Ctx, Evaluator

Impl = Callable[[Ctx, Collection, tuple[Evaluator, ...]], Collection]


@dataclass(frozen=True, slots=True)
class Function:
    """A FHIRPath function: its implementation and how many arguments it takes."""

    impl: Impl
    min_args: int
    max_args: int


REGISTRY: dict[str, Function] = {}


def function(name: str, min_args: int = 0, max_args: int | None = None) -> Callable[[Impl], Impl]:
    """Register ``impl`` as the FHIRPath function ``name``."""

    def register(impl: Impl) -> Impl:
        REGISTRY[name] = Function(impl, min_args, min_args if max_args is None else max_args)
        return impl

    return register
