"""Password policy and hashing, TOTP, SMART scopes, roles: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from huitong.security import totp
from huitong.security.passwords import PasswordPolicy, PasswordPolicyError, hash_password, verify_password
from huitong.security.roles import GRANTS, Role, grant_of, needs_mfa
from huitong.security.scopes import ScopeError, narrow, parse_scope, parse_scopes, scopes_allow


def test_argon2id_hashes() -> None:
    hashed = hash_password("Correct-Horse-42")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Correct-Horse-42") and not verify_password(hashed, "correct-horse-42")
    assert not verify_password("not a hash", "x")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Short-1", "at least"),
        ("alllowercaseletters", "mix"),
        ("zhang.wei-Password-1", "login name"),
    ],
)
def test_policy_refuses_weak_passwords(password: str, reason: str) -> None:
    with pytest.raises(PasswordPolicyError, match=reason):
        PasswordPolicy(12, 3, 5).check(password, user_id="zhang.wei")


def test_policy_refuses_reuse() -> None:
    old = [hash_password("Correct-Horse-42")]
    with pytest.raises(PasswordPolicyError, match="differ"):
        PasswordPolicy().check("Correct-Horse-42", previous_hashes=old)
    PasswordPolicy().check("Another-Horse-43", previous_hashes=old)


def test_totp_window_and_replay() -> None:
    secret = totp.new_secret()
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    code = totp.code_at(secret, now)
    step = totp.accepted_step(secret, code, now, last_step=None)
    assert step is not None
    assert totp.accepted_step(secret, code, now, last_step=step) is None  # no replay
    assert totp.accepted_step(secret, code, now + timedelta(seconds=30), last_step=None) is not None  # drift
    assert totp.accepted_step(secret, code, now + timedelta(minutes=5), last_step=None) is None
    assert totp.accepted_step(secret, "12345", now, last_step=None) is None
    assert totp.provisioning_uri(secret, "zhang.wei").startswith("otpauth://totp/Huitong:zhang.wei")


def test_smart_scopes() -> None:
    scope = parse_scope("patient/*.rs")
    assert scope.context == "patient" and scope.allows("Observation", "r") and not scope.allows("Observation", "c")
    assert parse_scope("user/Observation.rs").allows("Observation", "s")
    assert parse_scope("system/*.cruds").allows("Patient", "d")
    assert parse_scope("user/Patient.read").perms == frozenset("rs")  # SMART v1
    for bad in ("patient/*.x", "foo/*.rs", "patient/observation.rs", "patient/*."):
        with pytest.raises(ScopeError):
            parse_scope(bad)
    scopes = parse_scopes("openid fhirUser launch/patient patient/Observation.rs")
    assert len(scopes) == 1 and scopes_allow(scopes, "Observation", "r") and not scopes_allow(scopes, "Patient", "r")
    assert narrow("system/Observation.rs system/Patient.c", "system/Observation.cruds") == "system/Observation.rs"
    assert narrow("system/Patient.rs", "system/*.rs") == "system/Patient.rs"


def test_separation_of_duties() -> None:
    admin, auditor = grant_of(Role.ADMINISTRATOR), grant_of(Role.AUDITOR)
    assert admin.manages_accounts and not admin.may("Observation", write=False) and not admin.may("Patient", False)
    assert auditor.reads_audit and not auditor.write and not auditor.read
    for role, grant in GRANTS.items():
        assert not (grant.manages_accounts and grant.reach != "none"), role
        assert not (grant.reads_audit and (grant.write or grant.reach != "none")), role
    assert grant_of("nonsense").read == frozenset()


def test_who_needs_mfa() -> None:
    roles = ["administrator", "auditor"]
    assert needs_mfa("administrator", roles) and needs_mfa("auditor", roles)
    assert needs_mfa("quality_officer", []) and needs_mfa("pharmacist", [])  # hospital-wide reach
    assert not needs_mfa("doctor", roles) and needs_mfa("doctor", roles, has_care_team_beyond_department=True)
