"""The message model: a :class:`Message` of :class:`Segment` s of raw field text, split lazily.

Segments keep each field as the text that was sent (escape sequences intact), so parsing costs one split
per segment and encoding gives back what was read. Repetitions, components and subcomponents are split
and unescaped only when asked for:

>>> msg.get("PID-5.1")          # family name of the first repetition of PID-5
>>> msg.get("PID-3[2].1")       # ID of the second repetition of PID-3
>>> msg.get("OBX[3]-5")         # OBX-5 of the third OBX segment
>>> [f.get(1) for f in msg.segment("PID").repetitions(3)]

Field numbers follow the standard: ``seg.raw(1)`` of MSH is the field separator and ``seg.raw(2)`` the
encoding characters, so ``MSH-9`` is ``msh.raw(9)`` as everywhere else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from huitong.ingest.hl7v2.escape import escape, unescape

HL7_NULL = '""'


@dataclass(frozen=True, slots=True)
class Encoding:
    """The delimiters of one message (MSH-1, MSH-2) and the Python codec its bytes were read with."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""  # v2.7+: the fifth encoding character, usually '#'
    codec: str = "utf-8"
    specials: str = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        chars = self.field + self.component + self.repetition + self.escape + self.subcomponent + self.truncation
        object.__setattr__(self, "specials", chars + "\r\n")

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as written: component, repetition, escape, subcomponent (and truncation) characters."""
        return self.component + self.repetition + self.escape + self.subcomponent + self.truncation


DEFAULT_ENCODING = Encoding()

FieldValue = str | Sequence["str | Sequence[str]"]


def compose(value: FieldValue, enc: Encoding = DEFAULT_ENCODING) -> str:
    """Field text of a value: a string, or components, each a string or a sequence of subcomponents."""
    if isinstance(value, str):
        return escape(value, enc)
    parts = [escape(c, enc) if isinstance(c, str) else enc.subcomponent.join(escape(s, enc) for s in c) for c in value]
    return enc.component.join(parts).rstrip(enc.component)


class Field:
    """One field (all its repetitions) or one repetition of it, as raw text with its encoding."""

    __slots__ = ("_parts", "enc", "raw")

    def __init__(self, raw: str, enc: Encoding) -> None:
        self.raw = raw
        self.enc = enc
        self._parts: list[str] | None = None  # raw components of the first repetition, split once

    def __repr__(self) -> str:
        return f"Field({self.raw!r})"

    def __bool__(self) -> bool:
        return bool(self.raw) and self.raw != HL7_NULL

    @property
    def is_null(self) -> bool:
        """Whether the field is the HL7 explicit null ``""`` (delete the stored value)."""
        return self.raw == HL7_NULL

    def repetitions(self) -> list[Field]:
        """Each repetition as a :class:`Field`; an empty field has none."""
        if not self.raw:
            return []
        rep = self.enc.repetition
        if not rep or rep not in self.raw:
            return [self]
        return [Field(r, self.enc) for r in self.raw.split(rep)]

    def _components_raw(self) -> list[str]:
        parts = self._parts
        if parts is None:
            first = self._first_rep()
            parts = self._parts = first.split(self.enc.component) if first else []
        return parts

    def components(self) -> list[str]:
        """The decoded components of the first repetition (subcomponents kept joined, unescaped)."""
        return [unescape(c, self.enc) for c in self._components_raw()]

    def get(self, component: int = 1, subcomponent: int | None = None) -> str:
        """Decoded component (1-based) of the first repetition; ``subcomponent`` picks one of its parts.

        Without ``subcomponent`` the first subcomponent is returned, as HL7 asks receivers of a simpler
        datatype to do. The HL7 null ``""`` reads as an empty string.
        """
        parts = self._parts
        if parts is None:
            parts = self._components_raw()
        if component > len(parts):
            return ""
        text = parts[component - 1]
        if not text:
            return ""
        enc = self.enc
        sub_sep = enc.subcomponent
        if sub_sep and sub_sep in text:
            subs = text.split(sub_sep)
            index = (subcomponent or 1) - 1
            text = subs[index] if index < len(subs) else ""
        elif subcomponent is not None and subcomponent > 1:
            return ""
        if text == HL7_NULL:
            return ""
        return unescape(text, enc) if enc.escape and enc.escape in text else text

    @property
    def value(self) -> str:
        """The decoded first component of the first repetition."""
        return self.get(1)

    def text(self) -> str:
        """The whole field decoded, delimiters kept as they are (for display and messages)."""
        return unescape(self.raw, self.enc)

    def component_field(self, component: int) -> Field:
        """A component of the first repetition as a :class:`Field` whose components are its subcomponents."""
        parts = self._components_raw()
        raw = parts[component - 1] if component <= len(parts) else ""
        sub = self.enc.subcomponent
        return Field(raw.replace(sub, self.enc.component) if sub else raw, self.enc)

    def _first_rep(self) -> str:
        rep = self.enc.repetition
        raw = self.raw
        if rep and rep in raw:
            return raw[: raw.index(rep)]
        return raw


class Segment:
    """One segment: its name and its fields' raw text, ``fields[n]`` being field *n*."""

    __slots__ = ("enc", "fields", "name")

    def __init__(self, name: str, fields: list[str], enc: Encoding) -> None:
        self.name = name
        self.fields = fields  # fields[0] is the name; for MSH fields[1] is MSH-1, the field separator
        self.enc = enc

    @classmethod
    def build(cls, name: str, values: Sequence[FieldValue | None], enc: Encoding = DEFAULT_ENCODING) -> Segment:
        """A segment from values (``values[0]`` is field 1; for MSH, MSH-3); ``None`` leaves a field empty."""
        texts = ["" if v is None else compose(v, enc) for v in values]
        while texts and not texts[-1]:
            texts.pop()
        if name == "MSH":
            return cls(name, [name, enc.field, enc.encoding_characters, *texts], enc)
        return cls(name, [name, *texts], enc)

    def __repr__(self) -> str:
        return f"Segment({self.name!r}, {len(self.fields) - 1} fields)"

    def __len__(self) -> int:
        """The number of fields present (the last non-empty one's number)."""
        return len(self.fields) - 1

    def raw(self, n: int) -> str:
        """The raw (escaped) text of field ``n``; empty when absent."""
        return self.fields[n] if 0 < n < len(self.fields) else ""

    def field(self, n: int) -> Field:
        """Field ``n`` (all repetitions)."""
        return Field(self.raw(n), self.enc)

    def repetitions(self, n: int) -> list[Field]:
        """The repetitions of field ``n``."""
        return self.field(n).repetitions()

    def get(self, path: str | int) -> str:
        """A decoded value by field path: ``5``, ``"5.1"``, ``"5.1.2"`` or ``"3[2].1"`` (1-based repetition)."""
        if isinstance(path, int):
            return self._get(path, 1, 1, None)
        fnum, rep, comp, sub = _parse_field_path(path)
        return self._get(fnum, rep, comp, sub)

    def _get(self, fnum: int, rep: int, comp: int, sub: int | None) -> str:
        fields = self.fields
        raw = fields[fnum] if 0 < fnum < len(fields) else ""
        if fnum <= 2 and self.name == "MSH":
            return raw  # the delimiters themselves are never unescaped
        if not raw:
            return ""
        enc = self.enc
        if (
            rep == 1
            and comp == 1
            and sub is None
            and enc.component not in raw
            and enc.repetition not in raw
            and (not enc.subcomponent or enc.subcomponent not in raw)
            and (not enc.escape or enc.escape not in raw)
        ):
            return "" if raw == HL7_NULL else raw  # the common case: a plain value
        f = Field(raw, enc)
        if rep > 1:
            reps = f.repetitions()
            if rep > len(reps):
                return ""
            f = reps[rep - 1]
        return f.get(comp, sub)

    def set(self, n: int, value: FieldValue | None) -> None:
        """Set field ``n`` from a value (escaped for this segment's encoding)."""
        if self.name == "MSH" and n in (1, 2):
            raise ValueError("MSH-1 and MSH-2 are the message's delimiters and are not set as values")
        while len(self.fields) <= n:
            self.fields.append("")
        self.fields[n] = "" if value is None else compose(value, self.enc)


_PATH = re.compile(r"([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?")


_FIELD_PATH = re.compile(r"(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?")


@lru_cache(maxsize=1024)
def _parse_field_path(path: str) -> tuple[int, int, int, int | None]:
    m = _FIELD_PATH.fullmatch(path)
    if not m:
        raise ValueError(f"not a field path: {path!r} (expected e.g. '5', '5.1', '5.1.2' or '3[2].1')")
    fnum, rep, comp, sub = m.groups()
    return (int(fnum), int(rep or 1), int(comp or 1), int(sub) if sub else None)


@lru_cache(maxsize=1024)
def _parse_path(path: str) -> tuple[str, int, int, int, int, int | None]:
    m = _PATH.fullmatch(path)
    if not m:
        raise ValueError(f"not a field path: {path!r} (expected e.g. 'PID-5.1', 'PID-3[2].1' or 'OBX[2]-5')")
    name, seg_rep, fnum, rep, comp, sub = m.groups()
    return (name, int(seg_rep or 1), int(fnum), int(rep or 1), int(comp or 1), int(sub) if sub else None)


class Message:
    """A parsed HL7 v2 message: its segments in order, its encoding and what the parser had to forgive."""

    __slots__ = ("_by_name", "encoding", "segment_list", "warnings")

    def __init__(self, segments: list[Segment], encoding: Encoding, warnings: list[str] | None = None) -> None:
        self.segment_list = segments
        self.encoding = encoding
        self.warnings = warnings if warnings is not None else []
        self._by_name: dict[str, list[Segment]] | None = None

    def __repr__(self) -> str:
        return f"Message({self.message_type!r}, control_id={self.control_id!r}, {len(self.segment_list)} segments)"

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segment_list)

    def __len__(self) -> int:
        return len(self.segment_list)

    def _index(self) -> dict[str, list[Segment]]:
        if self._by_name is None:
            index: dict[str, list[Segment]] = {}
            for seg in self.segment_list:
                index.setdefault(seg.name, []).append(seg)
            self._by_name = index
        return self._by_name

    def segments(self, name: str | None = None) -> list[Segment]:
        """All segments, or those named ``name``, in message order."""
        if name is None:
            return list(self.segment_list)
        return list(self._index().get(name, ()))

    def segment(self, name: str) -> Segment | None:
        """The first segment named ``name``."""
        found = self._index().get(name)
        return found[0] if found else None

    def get(self, path: str) -> str:
        """A decoded value by path, e.g. ``"PID-5.1"``, ``"PID-3[2].1"``, ``"OBX[2]-5"``; empty when absent."""
        name, seg_rep, fnum, rep, comp, sub = _parse_path(path)
        found = self._index().get(name, ())
        if seg_rep > len(found):
            return ""
        return found[seg_rep - 1]._get(fnum, rep, comp, sub)

    def append(self, segment: Segment) -> None:
        """Add a segment at the end."""
        self.segment_list.append(segment)
        self._by_name = None

    @property
    def msh(self) -> Segment:
        """The MSH segment (always the first)."""
        return self.segment_list[0]

    @property
    def message_code(self) -> str:
        """MSH-9.1, e.g. ``ADT``."""
        return self.msh.get("9.1").strip().upper()

    @property
    def trigger_event(self) -> str:
        """MSH-9.2, e.g. ``A01``."""
        return self.msh.get("9.2").strip().upper()

    @property
    def structure(self) -> str:
        """MSH-9.3, e.g. ``ADT_A01`` (empty in older versions)."""
        return self.msh.get("9.3").strip().upper()

    @property
    def message_type(self) -> str:
        """``CODE^EVENT``, e.g. ``ORU^R01``."""
        return f"{self.message_code}^{self.trigger_event}" if self.trigger_event else self.message_code

    @property
    def control_id(self) -> str:
        """MSH-10."""
        return self.msh.get(10)

    @property
    def version(self) -> str:
        """MSH-12.1, e.g. ``2.5.1``."""
        return self.msh.get("12.1").strip()

    @property
    def sending_application(self) -> str:
        """MSH-3.1."""
        return self.msh.get(3)

    @property
    def sending_facility(self) -> str:
        """MSH-4.1."""
        return self.msh.get(4)
