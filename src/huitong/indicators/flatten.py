"""The indicators' SQL-on-FHIR ViewDefinitions (``views/*.json``) and their refresh into DuckDB."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import duckdb

from huitong.db import Database
from huitong.security.actor import Actor
from huitong.views.refresh import RefreshResult, refresh_views
from huitong.views.viewdef import ViewDefinition, parse_view

VIEWS_DIR = Path(str(resources.files("huitong.indicators") / "views"))


def view_files() -> list[Path]:
    """The ViewDefinition files, in name order."""
    return sorted(VIEWS_DIR.glob("*.json"))


def load_views() -> list[ViewDefinition]:
    """Every ViewDefinition, parsed and validated."""
    return [parse_view(json.loads(path.read_text(encoding="utf-8"))) for path in view_files()]


def refresh_all(
    con: duckdb.DuckDBPyConnection, db: Database, actor: Actor, *, full: bool = False
) -> list[RefreshResult]:
    """Bring every view's table up to date (incrementally unless ``full``); views of one resource type share one
    read of the store."""
    return refresh_views(con, db, load_views(), actor, full=full)
