"""Index rows beyond one row per parameter value: full text (``_text``, ``_content``) and identifier types.

* ``_text`` (the narrative, ``text.div`` without its markup) and ``_content`` (every string of the resource)
  are indexed as **terms** in ``search_string`` (parameter ``_text`` / ``_content``), so the same B-tree
  prefix lookup serves them on SQLite and PostgreSQL — no FTS5 table or tsvector column that the two
  databases would answer differently. A term is a normalised word (case-, accent- and width-insensitive)
  or, for Chinese text (no spaces between words), each overlapping pair of characters plus the last
  character of a run: ``高血压`` → ``高血``, ``血压``, ``压``. A query term matches words that start with it;
  a Chinese query matches resources holding all of its pairs (``血压`` finds ``高血压病``).
* ``identifier:of-type`` rows in ``search_token``: ``system`` is the identifier type's coding system,
  ``code`` is ``<type code>|<identifier value>`` (searched as ``identifier:of-type=system|code|value``).
* ``identifier:text`` rows (``Identifier.type.text`` and its codings' displays) in ``search_string``, which
  ``:text`` searches as it does ``CodeableConcept.text``.

:func:`add_token_rows` is what the indexer (:mod:`huitong.fhir.search.index`) calls per token parameter,
:func:`add_text_rows` once per resource. The query side uses :func:`query_terms`, so both agree exactly.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from huitong.fhir.search.schema import search_string, search_token
from huitong.fhir.search.values import MAX_TEXT, normalise

Rows = dict[Any, list[dict[str, Any]]]

#: Search parameters answered from the full-text rows.
FULLTEXT = ("_text", "_content")
#: At most this many distinct terms per resource and parameter (a long document keeps its first ones).
MAX_TERMS = 2000
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"[\w]+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
#: Elements whose strings are machine values, not text (left out of ``_content``).
_NOT_TEXT = frozenset(
    {"id", "reference", "system", "url", "fullUrl", "profile", "data", "div", "versionId", "resourceType"}
)
#: Dates, dateTimes, instants and times are machine values too, searched by the date parameters: as words they were
#: ``2024``, ``03t10``, ``20`` — a third of a lab report's terms, each matching every resource of a month or hour.
_DATE_LIKE = re.compile(r"\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?|\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
#: Objects not searched by ``_content`` (``text`` as an object is the narrative, added once without markup).
_SKIP = frozenset({"meta", "contained", "text"})


def _cjk_terms(run: str) -> Iterator[str]:
    if len(run) == 1:
        yield run
        return
    for i in range(len(run) - 1):
        yield run[i : i + 2]
    yield run[-1]


def terms(text: str) -> list[str]:
    """The distinct index terms of ``text``, in order of appearance."""
    out: dict[str, None] = {}
    text = normalise_long(text)
    if text.isascii():  # the common case: no Chinese runs to split
        return list(dict.fromkeys(word[:MAX_TEXT] for word in _WORD.findall(text)))
    for word in _WORD.findall(text):
        if word.isascii():
            out.setdefault(word[:MAX_TEXT], None)
            continue
        runs = _CJK_RUN.findall(word)
        if not runs:
            out.setdefault(word[:MAX_TEXT], None)
            continue
        for run in runs:
            for term in _cjk_terms(run):
                out.setdefault(term, None)
        for rest in _CJK_RUN.split(word):
            if rest:
                out.setdefault(rest[:MAX_TEXT], None)
    return list(out)


def query_terms(text: str) -> list[tuple[str, bool]]:
    """The terms a query must all match, each with whether it is matched by prefix (else exactly).

    Words match by prefix (``hyper`` finds ``hypertension``); a Chinese run of two or more characters is
    its pairs, matched exactly; a single Chinese character matches any pair it starts (or the run it ends).
    """
    out: list[tuple[str, bool]] = []
    for word in _WORD.findall(normalise_long(text)):
        for run in _CJK_RUN.findall(word):
            if len(run) == 1:
                out.append((run, True))
            else:
                out += [(run[i : i + 2], False) for i in range(len(run) - 1)]
        out += [(rest[:MAX_TEXT], True) for rest in _CJK_RUN.split(word) if rest]
    return list(dict.fromkeys(out))


def normalise_long(text: str) -> str:
    """:func:`~huitong.fhir.search.values.normalise` without its length limit (for whole documents)."""
    return " ".join(normalise(chunk) for chunk in text.split())


def narrative(resource: dict[str, Any]) -> str:
    """The human-readable narrative: ``text.div`` without tags, entities decoded."""
    text = resource.get("text")
    div = text.get("div") if isinstance(text, dict) else None
    if not isinstance(div, str):
        return ""
    return html.unescape(_TAG.sub(" ", div))


def content(resource: dict[str, Any]) -> str:
    """Every string of the resource that is text rather than a machine value (an id, reference, system, URL, date or
    time), and the narrative."""
    parts: list[str] = [narrative(resource)]
    _collect(resource, parts)
    return " ".join(p for p in parts if p)


def _collect(node: dict[str, Any], parts: list[str]) -> None:
    """Append the text strings under ``node`` (depth first, in document order) to ``parts``."""
    for key, value in node.items():
        if isinstance(value, str):
            if key not in _NOT_TEXT and not _DATE_LIKE.fullmatch(value):
                parts.append(value)
        elif isinstance(value, dict):
            if key not in _SKIP:
                _collect(value, parts)
        elif isinstance(value, list) and key not in _SKIP:
            for item in value:
                if isinstance(item, dict):
                    _collect(item, parts)
                elif isinstance(item, str) and key not in _NOT_TEXT and not _DATE_LIKE.fullmatch(item):
                    parts.append(item)


def text_rows(pk: int, rtype: str, resource: dict[str, Any]) -> list[dict[str, Any]]:
    """``search_string`` rows of ``_text`` and ``_content`` for one resource."""
    rows: list[dict[str, Any]] = []
    for param, text in (("_text", narrative(resource)), ("_content", content(resource))):
        for term in terms(text)[:MAX_TERMS]:
            rows.append({"resource_pk": pk, "res_type": rtype, "param": param, "norm": term, "exact": term})
    return rows


def identifier_rows(
    pk: int, rtype: str, code: str, nodes: list[tuple[Any, str | None]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``search_token`` rows of ``<code>:of-type``, ``search_string`` rows of ``<code>:text``) of identifiers."""
    tokens: list[dict[str, Any]] = []
    texts: dict[str, None] = {}
    for value, _kind in nodes:
        if not isinstance(value, dict) or not isinstance(value.get("type"), dict) or "value" not in value:
            continue
        kind = value["type"]
        if isinstance(kind.get("text"), str):
            texts.setdefault(normalise(kind["text"]), None)
        for coding in kind.get("coding", ()) if isinstance(kind.get("coding"), list) else ():
            if not isinstance(coding, dict):
                continue
            if isinstance(coding.get("display"), str):
                texts.setdefault(normalise(coding["display"]), None)
            if isinstance(coding.get("code"), str) and value.get("value") is not None:
                system = coding.get("system")
                tokens.append(
                    {
                        "resource_pk": pk,
                        "res_type": rtype,
                        "param": f"{code}:of-type",
                        "system": system[:MAX_TEXT] if isinstance(system, str) else None,
                        "code": of_type_code(coding["code"], str(value["value"])),
                    }
                )
    strings = [
        {"resource_pk": pk, "res_type": rtype, "param": f"{code}:text", "norm": t, "exact": t} for t in texts if t
    ]
    return tokens, strings


def of_type_code(type_code: str, value: str) -> str:
    """The ``code`` column of an ``:of-type`` row."""
    return f"{type_code}|{value}"[:MAX_TEXT]


def add_text_rows(rows: Rows, pk: int, rtype: str, resource: dict[str, Any]) -> None:
    """Append the full-text rows of one resource to the indexer's ``rows`` (by table)."""
    found = text_rows(pk, rtype, resource)
    if found:
        rows.setdefault(search_string, []).extend(found)


def add_token_rows(rows: Rows, pk: int, rtype: str, code: str, nodes: list[tuple[Any, str | None]]) -> None:
    """Append the ``:of-type`` and identifier ``:text`` rows of one token parameter's values."""
    tokens, strings = identifier_rows(pk, rtype, code, nodes)
    if tokens:
        rows.setdefault(search_token, []).extend(tokens)
    if strings:
        rows.setdefault(search_string, []).extend(strings)
