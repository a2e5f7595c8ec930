"""The search index tables, one per kind of value (the Medplum way: small lookup tables beside the JSON).

Every row names the resource it came from (``resource_pk``), its type and the search parameter's code.
Rows are replaced on every write, in the write's own transaction (:mod:`huitong.fhir.search.index`).
Deleted resources keep no rows. Dates are stored as UTC epoch milliseconds, half-open ranges
``[low, high)``; strings twice: as written (for ``:exact``) and normalised (case-, accent- and
width-insensitive; Chinese names also as pinyin), compared by prefix with a range so a plain B-tree serves it.
The migration ``search_0001`` creates exactly these tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from huitong.db.schema import BigKey, metadata

#: Dates without an end (or start) are stored with these bounds.
MIN_MS = -(2**62)
MAX_MS = 2**62


def _table(name: str, *columns: sa.Column[object], indexes: tuple[sa.Index, ...] = ()) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("resource_pk", BigKey, nullable=False),
        sa.Column("res_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(64), nullable=False),
        *columns,
        sa.Index(f"ix_{name}_resource_pk", "resource_pk"),
        *indexes,
    )


search_token = _table(
    "search_token",
    sa.Column("system", sa.String(255), nullable=True),
    sa.Column("code", sa.String(255), nullable=True),
    indexes=(sa.Index("ix_search_token_lookup", "res_type", "param", "code", "system", "resource_pk"),),
)
search_string = _table(
    "search_string",
    sa.Column("norm", sa.String(255), nullable=False),
    sa.Column("exact", sa.String(255), nullable=False),
    indexes=(
        sa.Index(
            "ix_search_string_lookup",
            "res_type",
            "param",
            "norm",
            "resource_pk",
            postgresql_ops={"norm": "text_pattern_ops"},
        ),
    ),
)
search_date = _table(
    "search_date",
    sa.Column("low", sa.BigInteger, nullable=False),
    sa.Column("high", sa.BigInteger, nullable=False),
    indexes=(
        sa.Index("ix_search_date_lookup", "res_type", "param", "low", "high", "resource_pk"),
        sa.Index("ix_search_date_high", "res_type", "param", "high", "resource_pk"),
    ),
)
search_reference = _table(
    "search_reference",
    sa.Column("target_type", sa.String(64), nullable=True),
    sa.Column("target_id", sa.String(64), nullable=True),
    sa.Column("url", sa.String(512), nullable=True),
    indexes=(
        sa.Index("ix_search_reference_target", "target_id", "target_type", "param"),
        sa.Index("ix_search_reference_lookup", "res_type", "param", "target_id", "resource_pk"),
    ),
)
search_number = _table(
    "search_number",
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("system", sa.String(255), nullable=True),
    sa.Column("code", sa.String(64), nullable=True),
    indexes=(sa.Index("ix_search_number_lookup", "res_type", "param", "value"),),
)
search_uri = _table(
    "search_uri",
    sa.Column("value", sa.String(512), nullable=False),
    indexes=(
        sa.Index("ix_search_uri_lookup", "res_type", "param", "value", postgresql_ops={"value": "text_pattern_ops"}),
    ),
)

search_composite = _table(
    "search_composite",
    sa.Column("system", sa.String(255), nullable=True, comment="first component (a token): system"),
    sa.Column("code", sa.String(255), nullable=True, comment="first component (a token): code"),
    sa.Column("value", sa.Float, nullable=True, comment="second component: number or quantity"),
    sa.Column("low", sa.BigInteger, nullable=True, comment="second component: date range start (ms)"),
    sa.Column("high", sa.BigInteger, nullable=True, comment="second component: date range end (ms)"),
    sa.Column("vsystem", sa.String(255), nullable=True, comment="second component: token system, unit system"),
    sa.Column("vcode", sa.String(255), nullable=True, comment="second component: token code, unit, string"),
    indexes=(sa.Index("ix_search_composite_lookup", "res_type", "param", "code", "vcode", "resource_pk"),),
)

#: Index table of each search-parameter type (quantity and number share one table).
TABLE_OF_KIND: dict[str, sa.Table] = {
    "token": search_token,
    "string": search_string,
    "date": search_date,
    "reference": search_reference,
    "quantity": search_number,
    "number": search_number,
    "uri": search_uri,
    "composite": search_composite,
}
INDEX_TABLES: tuple[sa.Table, ...] = (
    search_token,
    search_string,
    search_date,
    search_reference,
    search_number,
    search_uri,
    search_composite,
)
