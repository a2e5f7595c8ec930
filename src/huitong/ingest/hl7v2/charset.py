"""MSH-18 character sets (HL7 table 0211 and the aliases real senders write) and decoding with fallback."""

from __future__ import annotations

import codecs

# Upper-cased MSH-18 value, spaces, '-' and '_' removed  →  Python codec.
_CHARSETS: dict[str, str] = {
    "ASCII": "ascii",
    "USASCII": "ascii",
    "ISOIR6": "ascii",
    "UNICODE": "utf-8",  # table 0211 leaves the encoding open; senders mean UTF-8 in practice
    "UNICODEUTF8": "utf-8",
    "UTF8": "utf-8",
    "GB18030": "gb18030",
    "GB180302000": "gb18030",
    "GB180302005": "gb18030",
    # GB 2312 and GBK are subsets of GB 18030; senders that declare them often send GBK characters anyway.
    "GBK": "gb18030",
    "GB2312": "gb18030",
    "CP936": "gb18030",
    "ISOIR58": "gb18030",
    "BIG5": "big5",
    "CNS116431992": "big5",
    "KSX1001": "euc_kr",
    "ISOIR87": "iso2022_jp",
    "ISOIR159": "iso2022_jp",
    "ISOIR14": "shift_jis",
    "WINDOWS1252": "cp1252",
    "CP1252": "cp1252",
    "LATIN1": "latin-1",
}
for _n in range(1, 16):
    _CHARSETS[f"8859/{_n}"] = f"iso8859_{_n}" if _n != 12 else "latin-1"
    _CHARSETS[f"ISO8859{_n}"] = _CHARSETS[f"8859/{_n}"]
del _CHARSETS["8859/12"], _CHARSETS["ISO885912"]  # no such part

_UNSUPPORTED = {"UNICODEUTF16", "UNICODEUTF32", "UTF16", "UTF32"}

# Tried in order when nothing is declared or the declared set does not fit the bytes.
FALLBACKS = ("utf-8", "gb18030", "latin-1")


def _key(name: str) -> str:
    return name.strip().upper().replace(" ", "").replace("_", "").replace("-", "")


def codec_for(msh18: str) -> str | None:
    """The Python codec for an MSH-18 value; ``None`` when unknown."""
    key = _key(msh18)
    if not key:
        return None
    if key.startswith("8859/"):
        return _CHARSETS.get(key)
    return _CHARSETS.get(key)


def is_unsupported(msh18: str) -> bool:
    """Whether MSH-18 names a character set whose bytes this byte-oriented reader cannot split (UTF-16/32)."""
    return _key(msh18) in _UNSUPPORTED


def decode(data: bytes, msh18: str, warnings: list[str]) -> tuple[str, str]:
    """Decode ``data`` with MSH-18's character set, falling back with a warning; return (text, codec)."""
    declared = codec_for(msh18) if msh18 else None
    if msh18 and declared is None:
        warnings.append(f"MSH-18 character set {msh18!r} is not known; reading the bytes as UTF-8 or GB 18030")
    if declared:
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError as exc:
            first = f"MSH-18 declares {msh18!r} but byte {exc.start} (0x{data[exc.start]:02X}) does not fit it"
        candidates = [c for c in FALLBACKS if c != declared]
    else:
        first = ""
        candidates = list(FALLBACKS)
        if data.isascii():
            return data.decode("ascii"), "utf-8"
    for i, codec in enumerate(candidates):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if first:
            warnings.append(f"{first}; read as {codecs.lookup(codec).name}")
        elif i > 0 or codec != "utf-8":
            warnings.append(f"no MSH-18 character set and the bytes are not UTF-8; read as {codecs.lookup(codec).name}")
        return text, codec
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover
