"""Telephone numbers: Chinese mobiles and landlines brought to one digit string.

* Mobiles: eleven digits starting ``1[3-9]``; a ``+86``/``0086``/``86`` prefix and separators are dropped
  (``+86 138-0013-8000`` → ``13800138000``).
* Landlines: the area code with its trunk ``0`` followed by the local number (``(010) 6552-9988`` →
  ``01065529988``). Beijing ``010`` and the ``02x`` cities have three-digit codes, all others four. A local
  number without an area code stays as it is (it can still match the same number written the same way).
* Extensions (``转 123``, ``ext. 123``, ``-123`` after a full number) are dropped; placeholders that
  registration clerks type when the patient has no phone (``00000000``, ``13888888888``, ``12345678``) become
  ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_EXTENSION = re.compile(r"(转|分机|ext\.?|x)\s*\d+\s*$", re.IGNORECASE)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE_AREA = re.compile(r"0(?:10|2\d|[3-9]\d{2})")
_PLACEHOLDERS = frozenset({"12345678", "123456789", "12345678901", "87654321"})


def _is_placeholder(digits: str) -> bool:
    body = digits[3:] if digits.startswith("1") and len(digits) == 11 else digits
    return len(set(body)) <= 1 or digits in _PLACEHOLDERS


@lru_cache(maxsize=1 << 20)
def normalise_phone(text: str | None) -> str | None:
    """The standard digit string of a phone number, or ``None`` when it is empty or a placeholder."""
    if not text:
        return None
    text = _EXTENSION.sub("", unicodedata.normalize("NFKC", text).strip())
    international = text.startswith("+")
    digits = re.sub(r"\D", "", text)
    if international or digits.startswith("0086"):
        digits = digits[4:] if digits.startswith("0086") else digits
        if digits.startswith("86"):
            digits = digits[2:]
            if not _MOBILE.fullmatch(digits):
                digits = "0" + digits  # +86 10 6552 9988: the trunk 0 is dropped abroad
    elif len(digits) == 13 and digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        digits = digits[2:]
    if _MOBILE.fullmatch(digits):
        return None if _is_placeholder(digits) else digits
    if len(digits) > 11 and _MOBILE.fullmatch(digits[:11]) and not digits.startswith("0"):
        return None if _is_placeholder(digits[:11]) else digits[:11]  # a mobile with an extension
    area = _LANDLINE_AREA.match(digits)
    if area and 7 <= len(digits) - area.end() <= 8:
        local = digits[area.end() :]
        return None if _is_placeholder(local) else area.group() + local
    if area and len(digits) - area.end() > 8:
        local = digits[area.end() : area.end() + 8]  # the local number followed by an extension
        return None if _is_placeholder(local) else area.group() + local
    if 7 <= len(digits) <= 8:
        return None if _is_placeholder(digits) else digits
    return None
