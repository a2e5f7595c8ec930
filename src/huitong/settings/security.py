"""Secrets, sign-in and access (``HUITONG_SECURITY__…``) and the audit trail (``HUITONG_AUDIT__…``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class SecuritySettings(BaseModel):
    """Secrets, login, sessions, second factor, OAuth, field encryption and de-identification (docs/security.md)."""

    secret_key: SecretStr = Field(
        default=SecretStr("dev-secret-key"),
        description=(
            "Key for signing sessions and tokens. Must be set to a long random value outside development "
            "(`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        ),
    )
    api_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'Static bearer tokens of trusted internal system clients, as JSON `{"client-name": "token"}`. A request '
            "with `Authorization: Bearer TOKEN` acts as `system:client-name` with every scope; other clients should "
            "use OAuth client credentials (`POST /auth/token`)."
        ),
    )
    allow_anonymous: bool = Field(
        default=False,
        description=(
            "Accept requests without credentials as the development actor `dev:anonymous`. Only honoured in "
            "development mode; refused at start-up otherwise."
        ),
    )
    password_min_length: int = Field(
        default=12,
        ge=8,
        le=128,
        description="Shortest password accepted for a local account (MLPS 8.1.4.1 asks for complexity; length [U]).",
    )
    password_min_classes: int = Field(
        default=3,
        ge=1,
        le=4,
        description="Character classes (lower case, upper case, digits, symbols) a password must mix [U].",
    )
    password_history: int = Field(
        default=5, ge=0, le=24, description="A new password may not repeat any of this many previous passwords [U]."
    )
    password_max_age_days: int = Field(
        default=90,
        ge=0,
        description="Days after which a password must be changed at next login (MLPS: periodic change; 0 = never) [U].",
    )
    lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Consecutive failed logins after which an account is locked [U]."
    )
    lockout_minutes: int = Field(default=30, ge=1, description="How long a locked account stays locked (minutes) [U].")
    session_idle_minutes: int = Field(
        default=15, ge=1, le=1440, description="A web session ends after this many minutes without a request [U]."
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, le=168, description="A web session ends this many hours after login, whatever its use."
    )
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie only over HTTPS (`Secure`). Turn off only for plain-HTTP development.",
    )
    mfa_roles: list[str] = Field(
        default_factory=lambda: ["administrator", "auditor", "quality_officer", "manager"],
        description=(
            "Roles that must pass a TOTP second factor at login. Anyone whose access reaches beyond their own "
            "department needs it too, whatever this list says (MLPS 8.1.4.1: two factors, one cryptographic)."
        ),
    )
    mfa_all_users: bool = Field(
        default=False, description="Require the TOTP second factor of every staff account (stricter reading of MLPS)."
    )
    token_minutes: int = Field(default=60, ge=1, le=1440, description="Lifetime of an OAuth 2.0 access token.")
    break_glass_minutes: int = Field(
        default=60, ge=5, le=1440, description="How long a break-the-glass grant to one patient's records lasts."
    )
    login_rate_per_minute: int = Field(
        default=10, ge=1, description="Login, token and registration requests accepted per client address per minute."
    )
    api_rate_per_minute: int = Field(
        default=1200, ge=1, description="API requests accepted per credential (or address) per minute."
    )
    rate_sync_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "How often each process adds its API request counts to the database and learns those of the others, "
            "so the rates hold across `huitong serve --workers N` and several hosts (login and token attempts are "
            "counted in the database at once). 0: each process counts alone and allows the full rates."
        ),
    )
    field_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'Field-encryption keys as JSON `{"key-id": "base64 of 32 random bytes"}`. Resident ID numbers, phone '
            "numbers and addresses are encrypted with AES-256-GCM under `field_key_active`; older keys stay "
            "listed until `huitong security rotate-keys` has re-encrypted their values. Empty in development: a key "
            "derived from `secret_key` is used."
        ),
    )
    field_key_active: str = Field(
        default="", description="Id of the key in `field_keys` new values are encrypted with."
    )
    field_encryption: Literal["auto", "on", "off"] = Field(
        default="auto",
        description=(
            "Encrypt resident ID numbers, phone numbers and addresses of Patient, RelatedPerson, Person and "
            "Practitioner in stored FHIR JSON (AES-256-GCM, blind indexes for search). `auto`: on unless "
            "`env` is `development`. Values already encrypted are always decrypted for authorised readers."
        ),
    )
    field_reveal_roles: list[str] = Field(
        default=[
            "doctor",
            "nurse",
            "pharmacist",
            "lab_technician",
            "quality_officer",
            "administrator",
            "patient",
            "system",
            "developer",
        ],
        description=(
            "Roles that read encrypted fields in clear (when the access rules let them read the resource at "
            "all); other roles and research exports (purpose of use `HRESCH`) get them masked."
        ),
    )
    blind_index_key: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "HMAC key of the blind indexes that let exact search and EMPI blocking work on encrypted fields. "
            "Never rotated casually: changing it means rebuilding every index. Empty: derived from `secret_key`."
        ),
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key of pseudonyms and date shifts in de-identified exports. Empty: derived from secret_key.",
    )
    deid_k: int = Field(
        default=5, ge=2, description="k of the k-anonymity check a de-identified export must pass before release [U]."
    )
    oidc_issuer: str = Field(
        default="",
        description="Issuer URL of the hospital's OpenID Connect identity provider. Empty: single sign-on is off.",
    )
    oidc_client_id: str = Field(default="", description="Huitong's client id at the OIDC identity provider.")
    oidc_client_secret: SecretStr = Field(
        default=SecretStr(""), description="Huitong's client secret at the OIDC identity provider."
    )
    oidc_user_claim: str = Field(
        default="preferred_username",
        description="ID-token claim holding the login name of a Huitong account (accounts are still managed here).",
    )
    oidc_mfa_claim_values: list[str] = Field(
        default_factory=lambda: ["mfa", "otp", "hwk"],
        description="`amr` values from the IdP that count as a second factor, so Huitong skips its own TOTP step.",
    )


class AuditSettings(BaseModel):
    """The audit trail of every access to patient data."""

    audit_reads: bool = Field(
        default=True,
        description="Record reads (read, vread, history) as well as writes. Required by MLPS level 3.",
    )
    retention_days: int = Field(
        default=180,
        ge=180,
        description="Days audit records are kept at least (MLPS 2.0 level 3 asks for ≥ 180).",
    )
    anomaly_reads_per_day: int = Field(
        default=300,
        ge=1,
        description="The access-anomaly report flags a user who read more distinct patients than this in one day.",
    )
    vip_tag: str = Field(
        default="VIP",
        description="`meta.security` or `meta.tag` code marking a VIP patient; every read of one is flagged.",
    )
