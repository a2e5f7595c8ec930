"""What the CLI, the cockpit and the benchmark call: open the indicators' DuckDB file, bring it up to date,
compute and store values, and drill down to cases."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from huitong.db import Database
from huitong.indicators import engine, reference, values
from huitong.indicators.engine import Case, IndicatorValue
from huitong.security.actor import Actor


@dataclass(frozen=True, slots=True)
class Workspace:
    """The DuckDB file and the definition parameter overrides."""

    duckdb_path: Path
    overrides: Mapping[str, str] = field(default_factory=dict)


@contextmanager
def prepared(
    db: Database, workspace: Workspace, actor: Actor, *, refresh: bool = True, full: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the views refreshed (unless ``refresh`` is false: read-only, as they are), the
    reference tables copied and the shared tables built."""
    workspace.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(workspace.duckdb_path), read_only=not refresh)
    try:
        if refresh:
            engine.prepare(con, db, actor, full=full)
        else:
            reference.copy_to_duckdb(db, con)
            engine.build_base(con)
        yield con
    finally:
        con.close()


def compute_and_store(
    db: Database,
    workspace: Workspace,
    actor: Actor,
    start: date,
    end: date,
    *,
    ids: Iterable[str] | None = None,
    full: bool = False,
    store: bool = True,
) -> list[IndicatorValue]:
    """Refresh, compute every value in [start, end] and store them; returns the values."""
    with prepared(db, workspace, actor, full=full) as con:
        computed = engine.compute(con, start, end, ids=ids, overrides=workspace.overrides)
    if store:
        values.save(db, computed)
    return computed


def drill_down(
    db: Database,
    workspace: Workspace,
    actor: Actor,
    indicator_id: str,
    period: str,
    department: str = engine.HOSPITAL,
    *,
    only_numerator: bool = False,
    limit: int = 1000,
) -> list[Case]:
    """The cases behind one value, read from the views as last refreshed."""
    with prepared(db, workspace, actor, refresh=False) as con:
        return engine.drill_down(
            con,
            indicator_id,
            period,
            department,
            only_numerator=only_numerator,
            limit=limit,
            overrides=workspace.overrides,
        )
