"""Identifying elements of FHIR resources protected at rest, found by blind index, rotated without downtime."""

from __future__ import annotations

import base64
import os
from typing import Any

from pydantic import SecretStr
from typer.testing import CliRunner

from huitong.cli import app as cli_app
from huitong.security.crypto import FieldCipher
from huitong.security.fields import BLIND_INDEX_URL, protect, reveal, rotate
from huitong.security.runtime import SecurityServices
from huitong.settings import SecuritySettings, Settings
from tests.security.conftest import make_user

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "identifier": [
        {"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"},
        {"system": "urn:hospital:mrn", "value": "MRN001"},
    ],
    "telecom": [{"system": "phone", "value": "+86 138 0013 8000"}, {"system": "email", "value": "a@b.cn"}],
    "address": [{"line": ["中关村大街1号"], "city": "北京市", "district": "海淀区"}],
}


def _cipher(keys: dict[str, bytes], active: str) -> FieldCipher:
    return FieldCipher.from_settings(
        SecuritySettings(
            field_keys={k: SecretStr(base64.b64encode(v).decode()) for k, v in keys.items()},
            field_key_active=active,
            blind_index_key=SecretStr("b" * 40),
        )
    )


def test_protect_reveal_round_trip_and_blind_index() -> None:
    cipher = _cipher({"k1": os.urandom(32)}, "k1")
    sealed = protect(PATIENT, cipher)
    text = str(sealed)
    assert "11010519491231002X" not in text and "0013" not in text and "中关村" not in text
    assert "MRN001" in text and "a@b.cn" in text and "海淀区" in text  # not identifying enough to encrypt
    index = sealed["identifier"][0]["extension"][0]
    assert index["url"] == BLIND_INDEX_URL
    lower = protect({**PATIENT, "identifier": [{**PATIENT["identifier"][0], "value": "11010519491231002x"}]}, cipher)
    assert lower["identifier"][0]["extension"][0] == index  # exact search / blocking on the index
    phone = protect({**PATIENT, "telecom": [{"system": "phone", "value": "13800138000"}]}, cipher)
    assert phone["telecom"][0]["extension"] == sealed["telecom"][0]["extension"]
    assert reveal(sealed, cipher) == PATIENT
    assert protect(sealed, cipher) == sealed  # idempotent
    assert protect({"resourceType": "Observation"}, cipher) == {"resourceType": "Observation"}


def test_resource_rotation_without_downtime() -> None:
    k1, k2 = os.urandom(32), os.urandom(32)
    sealed = protect(PATIENT, _cipher({"k1": k1}, "k1"))
    both = _cipher({"k1": k1, "k2": k2}, "k2")
    rotated = rotate(sealed, both)
    assert FieldCipher.key_id(rotated["identifier"][0]["value"]) == "k2"
    assert rotated["identifier"][0]["extension"] == sealed["identifier"][0]["extension"]
    assert reveal(rotated, _cipher({"k2": k2}, "k2")) == PATIENT


def test_rotate_keys_command_reencrypts_totp_secrets(sec: SecurityServices, settings: Settings) -> None:
    make_user(sec, "admin.wang", "administrator")
    secret = sec.accounts.enrol_totp("admin.wang")
    new_key = base64.b64encode(os.urandom(32)).decode()
    old_key = base64.b64encode(sec.cipher.keys["derived"]).decode()
    env = {
        "HUITONG_DATABASE__URL": settings.database.url,
        "HUITONG_ENV": "development",
        "HUITONG_SECURITY__SECRET_KEY": settings.security.secret_key.get_secret_value(),
        "HUITONG_SECURITY__FIELD_KEYS": f'{{"derived": "{old_key}", "k2": "{new_key}"}}',
        "HUITONG_SECURITY__FIELD_KEY_ACTIVE": "k2",
    }
    result = CliRunner().invoke(cli_app, ["security", "rotate-keys"], env=env)
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1" in result.output
    retired = _cipher({"k2": base64.b64decode(new_key)}, "k2")
    with sec.db.read() as conn:
        from huitong.security.schema import sec_user

        sealed = conn.execute(sec_user.select().where(sec_user.c.user_id == "admin.wang")).one().totp_secret
    assert retired.decrypt("totp_secret", sealed) == secret
