"""``huitong security check``: each MLPS 2.0 level-3 control that applies to an application platform, how
this deployment meets it (settings read live) and what the hospital must still do itself.

Statuses: ``ok`` (met by Huitong as configured), ``warn`` (met only partly, or configured below the usual
assessor expectation), ``hospital`` (outside the application: the hospital's own duty).
"""

from __future__ import annotations

from dataclasses import dataclass

from huitong.settings import PLACEHOLDER_SECRETS, Settings


@dataclass(frozen=True, slots=True)
class Control:
    clause: str
    name: str
    status: str  # ok | warn | hospital
    how: str
    hospital: str


def check(settings: Settings, *, tls: bool | None = None) -> list[Control]:
    """The controls and their status for ``settings``. ``tls``: whether HTTPS is served or proxied."""
    s, a = settings.security, settings.audit
    served_tls = bool(settings.http.tls_certfile and settings.http.tls_keyfile)
    proxied_tls = settings.http.public_base_url.startswith("https://")
    https = tls if tls is not None else served_tls or proxied_tls
    encrypting = s.field_encryption == "on" or (s.field_encryption == "auto" and not settings.is_development)
    strong_pw = s.password_min_length >= 8 and s.password_min_classes >= 3
    secret_set = s.secret_key.get_secret_value().strip().lower() not in PLACEHOLDER_SECRETS
    mfa_admin = {"administrator", "auditor"} <= set(s.mfa_roles) or s.mfa_all_users
    keys_set = bool(s.field_keys) and bool(s.blind_index_key.get_secret_value())
    metrics_guarded = not settings.ops.metrics_enabled or settings.ops.metrics_token is not None
    return [
        Control(
            "8.1.4.1 a",
            "Unique identification, password complexity and periodic change",
            "ok" if strong_pw and s.password_max_age_days else "warn",
            f"unique login names, never reused; argon2id hashes; ≥{s.password_min_length} characters of "
            f"≥{s.password_min_classes} classes; last {s.password_history} not reused; change every "
            f"{s.password_max_age_days or '∞'} days",
            "remove or rename default and shared accounts in the hospital's other systems; staff training",
        ),
        Control(
            "8.1.4.1 b",
            "Login failure handling and session time-out",
            "ok",
            f"lock after {s.lockout_threshold} failures for {s.lockout_minutes} min; sessions end after "
            f"{s.session_idle_minutes} min idle or {s.session_absolute_hours} h; login rate "
            f"{s.login_rate_per_minute}/min per address",
            "—",
        ),
        Control(
            "8.1.4.1 c",
            "Credentials protected in transit (remote administration)",
            "ok" if https and s.cookie_secure else "warn",
            (
                "HTTPS served by Huitong (HUITONG_HTTP__TLS_CERTFILE)"
                if served_tls
                else "HTTPS on the reverse proxy (public base URL https://)"
                if https
                else "HTTPS NOT configured (set HUITONG_HTTP__TLS_CERTFILE and _KEYFILE, or a TLS proxy and "
                "HUITONG_HTTP__PUBLIC_BASE_URL https://…)"
            )
            + f"; Secure cookies {'on' if s.cookie_secure else 'OFF'}; HSTS max-age {settings.http.hsts_max_age} s "
            "over TLS",
            "a TLS certificate (TLS 1.2+) on Huitong or its reverse proxy; MLLP over TLS or a protected network",
        ),
        Control(
            "8.1.4.1 d",
            "Two or more authentication factors, one cryptographic",
            "ok" if mfa_admin else "warn",
            f"TOTP (HMAC-SHA1, RFC 6238) required for {', '.join(s.mfa_roles)}"
            f"{' and every staff account' if s.mfa_all_users else ''} and for every hospital-wide role",
            "decide whether every clinician needs a second factor (HUITONG_SECURITY__MFA_ALL_USERS) [U]",
        ),
        Control(
            "8.1.4.2",
            "Access control: least privilege, separation of duties",
            "ok" if metrics_guarded else "warn",
            "11 roles; department/care-team reach enforced in the resource store; administrators read no clinical "
            "data, auditors change nothing; break-the-glass time-limited and reviewed; SMART scopes for apps; "
            + (
                "`/metrics` needs its token or is off"
                if metrics_guarded
                else "`/metrics` (no patient data) answers anyone who reaches it: set HUITONG_OPS__METRICS_TOKEN"
            ),
            "assign roles and departments; review accounts and care teams regularly; remove leavers; keep `/metrics` "
            "on the monitoring network",
        ),
        Control(
            "8.1.4.3",
            "Security audit",
            "ok" if a.audit_reads and a.retention_days >= 180 else "warn",
            f"every read and write of patient data, login and permission change recorded as FHIR AuditEvent; "
            f"reads {'on' if a.audit_reads else 'OFF'}; kept ≥ {a.retention_days} days; anomaly report",
            "collect audit records centrally (安全管理中心) and back them up; review anomalies",
        ),
        Control(
            "8.1.4.7",
            "Integrity of audit and important data",
            "ok",
            "audit rows hash-chained (SHA-256), `huitong audit verify`; AES-GCM is authenticated encryption",
            "record the chain head printed by `huitong audit verify` outside the database regularly",
        ),
        Control(
            "8.1.4.8",
            "Confidentiality in transit and at rest",
            "ok" if keys_set and https and encrypting else "warn",
            (
                "resident ID, phone and address of person resources encrypted in stored FHIR JSON (AES-256-GCM) "
                "with blind indexes for search"
                if encrypting
                else "field encryption OFF (HUITONG_SECURITY__FIELD_ENCRYPTION): ID numbers, phones and addresses "
                "stored in clear"
            )
            + "; keys "
            + ("configured" if keys_set else "DERIVED FROM secret_key (set field_keys and blind_index_key)")
            + ("" if https else "; no TLS"),
            "disk or database encryption; encrypted backups; key custody (keys outside the database host)",
        ),
        Control(
            "8.1.4.9",
            "Backup and recovery",
            "hospital",
            "online backups and restore (huitong ops, see docs/ops.md)",
            "off-site real-time backup and hot standby of the database",
        ),
        Control(
            "8.1.4.10",
            "Residual information protection",
            "hospital",
            "sessions and tokens stored only as hashes; nothing sensitive in logs",
            "wipe disks before reuse",
        ),
        Control(
            "8.1.4.11",
            "Personal information protection (PIPL minimum necessity)",
            "ok",
            f"de-identified exports with pseudonyms, date shifting, generalisation, k-anonymity (k = {s.deid_k})",
            "consent records, PIA before new processing, personal-information protection officer",
        ),
        Control(
            "8.1.5",
            "Security management centre: system, audit and security administrators",
            "ok" if secret_set else "warn",
            "distinct administrator, auditor and quality-officer roles; each audited"
            + ("" if secret_set else "; secret_key is a PLACEHOLDER"),
            "appoint different people to the three roles (三权分立)",
        ),
    ]


def render(controls: list[Control]) -> str:
    """A plain-text table of ``controls``."""
    lines = []
    for c in controls:
        lines.append(f"[{c.status.upper():8}] {c.clause:11} {c.name}")
        lines.append(f"           Huitong:  {c.how}")
        lines.append(f"           Hospital: {c.hospital}")
    return "\n".join(lines)
