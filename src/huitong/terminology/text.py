"""Text for pickers: a concept is found by code, display, full pinyin or pinyin initials (高血压 → gxy)."""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=65536)
def _pinyin_forms(text: str) -> tuple[str, str]:
    syllables = lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    return "".join(syllables).lower(), "".join(s[0] for s in syllables if s).lower()


def search_text(code: str, display: str | None, chinese: str | None = None) -> str:
    """Lower-case code and display, plus full pinyin and initials of any Chinese in them."""
    parts = [code.lower()]
    for text in (display, chinese):
        if not text:
            continue
        parts.append(text.lower())
        if any("\u4e00" <= ch <= "\u9fff" for ch in text):
            full, initials = _pinyin_forms(text)
            parts += [full, initials]
    return " ".join(parts)


def matches(text: str | None, query: str) -> bool:
    """Whether every word of ``query`` occurs in ``text`` (already lower-case)."""
    if not query.strip():
        return True
    if not text:
        return False
    return all(word in text for word in query.lower().split())
