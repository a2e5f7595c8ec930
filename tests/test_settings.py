"""Settings: environment variables, nesting, refusal of placeholder secrets, the generated reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from huitong.settings import Environment, Settings, load_settings
from huitong.settings_doc import render

REPO = Path(__file__).resolve().parent.parent


def test_defaults_are_the_embedded_development_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("HUITONG_"):
            monkeypatch.delenv(key)
    settings = load_settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.database.url == "sqlite:///var/huitong.db"
    assert settings.http.port == 8000 and settings.http.host == "127.0.0.1"


def test_environment_variables_with_nested_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUITONG_DATABASE__URL", "postgresql+psycopg://u:p@db:5432/huitong")
    monkeypatch.setenv("HUITONG_HTTP__PORT", "9000")
    monkeypatch.setenv("HUITONG_SECURITY__API_TOKENS", '{"lis": "a-long-enough-token-123"}')
    settings = load_settings()
    assert settings.database.url.startswith("postgresql+psycopg://")
    assert settings.http.port == 9000
    assert settings.security.api_tokens["lis"].get_secret_value() == "a-long-enough-token-123"
    assert "a-long-enough-token-123" not in repr(settings)


def test_placeholder_secrets_are_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY is a placeholder"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="placeholder or shorter"):
        Settings(env="production", security={"secret_key": "k" * 40, "api_tokens": {"x": "changethis"}})
    with pytest.raises(ValidationError, match="ALLOW_ANONYMOUS"):
        Settings(env="production", security={"secret_key": "k" * 40, "allow_anonymous": True})
    assert Settings(env="production", security={"secret_key": "k" * 40}).env is Environment.PRODUCTION
    assert Settings(env="development").security.secret_key.get_secret_value() == "dev-secret-key"


def test_unknown_and_invalid_values_are_errors() -> None:
    with pytest.raises(ValidationError):
        Settings(http={"port": 70000})
    with pytest.raises(ValidationError):
        Settings(nonsense=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(audit={"retention_days": 30})


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            for sub, sub_field in annotation.model_fields.items():
                assert sub_field.description, f"{name}.{sub}"


def test_settings_reference_is_current() -> None:
    committed = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/settings.md is stale: run `huitong docs settings`"
