"""Generates docs/settings.md from the :class:`~huitong.settings.Settings` class (``huitong docs settings``).

A test regenerates the page and compares it with the committed file, so the reference cannot drift.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from huitong.settings import Settings

HEADER = """# Settings reference

Generated from `src/huitong/settings/` by `huitong docs settings` — do not edit by hand (a test checks it).

Every setting is read from the environment with the prefix `HUITONG_`; nested groups use `__`
(`HUITONG_DATABASE__URL`). Values that are lists or maps are given as JSON
(`HUITONG_SECURITY__API_TOKENS='{"lis": "…"}'`). Settings are read once at start-up. Secrets are never
printed. Outside `development` mode, placeholder secrets are refused at start-up.
"""


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if isinstance(value, SecretStr):
        return "*(placeholder; must be set outside development)*"
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def _row(env: str, field: FieldInfo) -> str:
    description = (field.description or "").replace("|", "\\|").replace("\n", " ")
    return f"| `{env}` | {_default(field)} | {description} |"


def render() -> str:
    """The Markdown page."""
    lines = [HEADER, "## General", "", "| Variable | Default | Description |", "| --- | --- | --- |"]
    groups: list[tuple[str, FieldInfo, type[BaseModel]]] = []
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            groups.append((name, field, annotation))
        else:
            lines.append(_row(f"HUITONG_{name.upper()}", field))
    for name, field, model in groups:
        lines += ["", f"## `{name}` — {field.description or ''}", ""]
        if model.__doc__:
            lines += [model.__doc__.strip().splitlines()[0], ""]
        lines += ["| Variable | Default | Description |", "| --- | --- | --- |"]
        for sub_name, sub_field in model.model_fields.items():
            lines.append(_row(f"HUITONG_{name.upper()}__{sub_name.upper()}", sub_field))
    return "\n".join(lines) + "\n"
