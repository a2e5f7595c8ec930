"""``bulk.insert_rows`` on both backends: executemany below ``COPY_MIN_ROWS`` rows, COPY on PostgreSQL above."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from huitong.db import bulk
from huitong.db.schema import resource
from huitong.services import Services

#: Text that COPY's text format must escape: tabs, newlines, backslashes, a literal \N, Chinese, quotes.
_AWKWARD = ['{"a":"tab\there"}', "line\nbreak\r\n", "back\\slash \\N", "高血压 “quoted” 'x'", "", "\\."]


def _rows(count: int, start: int = 1) -> list[dict[str, Any]]:
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    return [
        {
            "pk": start + i,
            "res_type": "Basic",
            "res_id": f"b{start + i}",
            "version_id": 1 + i % 3,
            "last_updated": when + timedelta(minutes=i),
            "deleted": i % 4 == 0,
            "content": None if i % 7 == 6 else _AWKWARD[i % len(_AWKWARD)] + str(i),
        }
        for i in range(count)
    ]


def _stored(services: Services) -> list[dict[str, Any]]:
    with services.db.read() as conn:
        got = conn.execute(sa.select(resource).where(resource.c.res_type == "Basic").order_by(resource.c.pk))
        return [dict(row._mapping) for row in got]


def _as_utc(row: dict[str, Any]) -> dict[str, Any]:
    when = row["last_updated"]
    return {**row, "last_updated": when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)}


@pytest.mark.parametrize("count", [3, bulk.COPY_MIN_ROWS, 250])
def test_rows_come_back_exactly_as_written(services: Services, count: int) -> None:
    rows = _rows(count)
    services.db.write(lambda conn: bulk.insert_rows(conn, resource, rows))
    assert [_as_utc(r) for r in _stored(services)] == rows


@pytest.mark.parametrize("count", [3, 250])
def test_a_violated_constraint_raises_integrity_error_and_writes_nothing(services: Services, count: int) -> None:
    services.db.write(lambda conn: bulk.insert_rows(conn, resource, _rows(1, start=10_000)))
    clash = _rows(count)
    clash[-1] = {**clash[-1], "pk": 10_000, "res_id": "b10000"}  # the key of the row already stored

    def job(conn: sa.Connection) -> None:
        bulk.insert_rows(conn, resource, _rows(count, start=20_000))  # same transaction: rolled back too
        bulk.insert_rows(conn, resource, clash)

    with pytest.raises(sa.exc.IntegrityError):
        services.db.write(job)
    assert [r["pk"] for r in _stored(services)] == [10_000]
    services.db.write(lambda conn: bulk.insert_rows(conn, resource, _rows(count, start=30_000)))  # still usable
    assert len(_stored(services)) == 1 + count


@pytest.mark.parametrize("count", [3, 40])
def test_rows_may_name_their_columns_in_any_order(services: Services, count: int) -> None:
    rows = [dict(reversed(list(row.items()))) for row in _rows(count)]
    services.db.write(lambda conn: bulk.insert_rows(conn, resource, rows))
    assert [_as_utc(r) for r in _stored(services)] == _rows(count)
