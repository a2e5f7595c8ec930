"""Demo accounts: one per role that has pages, each with a fresh random password on every ``huitong demo``.

Nothing secret is written to the repository: passwords (and the manager's TOTP secret, since roles that reach
beyond one department must use a second factor) are generated and printed when the demo starts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from huitong.security.accounts import AccountError
from huitong.security.actor import Actor
from huitong.security.runtime import SecurityServices


@dataclass(frozen=True)
class DemoAccount:
    user_id: str
    name: str
    role: str
    department: str | None = None
    patient_id: str | None = None


DEMO_ACCOUNTS = (
    DemoAccount("demo.doctor", "刘医生", "doctor", department="demo-dept-4"),
    DemoAccount("demo.nurse", "王护士", "nurse", department="demo-dept-2"),
    DemoAccount("demo.manager", "陈院长", "manager"),
    DemoAccount("demo.patient", "李伟", "patient", patient_id="demo-p002"),
)


@dataclass(frozen=True)
class IssuedCredentials:
    account: DemoAccount
    password: str
    totp_secret: str | None


def new_password() -> str:
    """A random password that meets the password policy (upper, lower, digit, symbol; 20 characters)."""
    return f"Ht-{secrets.token_urlsafe(12)}-9a"


def ensure_demo_accounts(security: SecurityServices) -> list[IssuedCredentials]:
    """Create the demo accounts (or give existing ones a fresh password); returns what to print."""
    admin = Actor.system("demo")
    issued: list[IssuedCredentials] = []
    for account in DEMO_ACCOUNTS:
        password = new_password()
        if security.accounts.get(account.user_id) is None:
            security.accounts.create(
                admin,
                user_id=account.user_id,
                display_name=account.name,
                role=account.role,
                password=password,
                department=account.department,
                patient_id=account.patient_id,
            )
        else:
            try:
                security.accounts.change_password(account.user_id, password)
            except AccountError:
                continue
        secret = security.accounts.enrol_totp(account.user_id) if account.role == "manager" else None
        issued.append(IssuedCredentials(account, password, secret))
    return issued
