"""TOTP second factor (RFC 6238, via pyotp): enrolment, verification with replay protection.

Secrets are stored encrypted with the field keys (:mod:`huitong.security.crypto`). A code is accepted
for the current 30-second step and one step either side (clock drift), and each step only once.
"""

from __future__ import annotations

from datetime import datetime

import pyotp

ISSUER = "Huitong"


def new_secret() -> str:
    """A new random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, user_id: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=user_id, issuer_name=ISSUER)


def code_at(secret: str, moment: datetime) -> str:
    """The code valid at ``moment`` (for tests and enrolment checks)."""
    return pyotp.TOTP(secret).at(moment)


def accepted_step(secret: str, code: str, moment: datetime, *, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for at ``moment`` (±1 step), or ``None``.

    A step at or before ``last_step`` (already used) is refused, so an observed code cannot be replayed.
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    otp = pyotp.TOTP(secret)
    step = int(moment.timestamp()) // otp.interval
    for candidate in (step - 1, step, step + 1):
        if (last_step is None or candidate > last_step) and pyotp.utils.strings_equal(
            otp.generate_otp(candidate), code
        ):
            return candidate
    return None
