"""``$meta``: the profiles, tags and security labels in use, on one resource, one type or the system.

Read from the search index (``_profile``, ``_tag`` and ``_security`` rows), so it costs one query.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir import errors
from huitong.fhir.search.schema import search_token, search_uri


def meta_in_use(conn: sa.Connection, rtype: str | None = None, res_id: str | None = None) -> dict[str, Any]:
    """A ``Parameters`` resource with one ``return`` Meta of every profile, tag and security label in use."""
    live = sa.select(resource.c.pk).where(resource.c.deleted.is_(False))
    if rtype is not None:
        live = live.where(resource.c.res_type == rtype)
    if res_id is not None:
        live = live.where(resource.c.res_id == res_id)
        if conn.execute(live).first() is None:
            raise errors.not_found(f"{rtype}/{res_id} does not exist")
    profiles = conn.execute(
        sa.select(search_uri.c.value)
        .where(search_uri.c.param == "_profile", search_uri.c.resource_pk.in_(live))
        .distinct()
        .order_by(search_uri.c.value)
    ).scalars()
    meta: dict[str, Any] = {}
    profile_list = list(profiles)
    if profile_list:
        meta["profile"] = profile_list
    for param, key in (("_tag", "tag"), ("_security", "security")):
        codings = conn.execute(
            sa.select(search_token.c.system, search_token.c.code)
            .where(search_token.c.param == param, search_token.c.resource_pk.in_(live))
            .distinct()
            .order_by(search_token.c.system, search_token.c.code)
        ).all()
        if codings:
            meta[key] = [{k: v for k, v in (("system", s), ("code", c)) if v is not None} for s, c in codings]
    return {"resourceType": "Parameters", "parameter": [{"name": "return", "valueMeta": meta}]}
