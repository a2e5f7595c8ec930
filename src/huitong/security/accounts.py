"""Local accounts: creation, roles, passwords, lock-out, the TOTP second factor and care-team membership.

Every change of an account or a permission is audited (MLPS 8.1.4.3) by the actor who made it. Only an
actor whose role manages accounts (the administrator) or a system actor may change accounts, and nobody
may change their own role (separation of duties, 8.1.5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.security import audit, totp
from huitong.security.actor import Actor, ActorKind
from huitong.security.audit import AuditEntry, Outcome
from huitong.security.crypto import FieldCipher
from huitong.security.passwords import PasswordPolicy, dummy_hash, hash_password, verify_password
from huitong.security.roles import GRANTS, Role, grant_of, needs_mfa
from huitong.security.schema import sec_care_team, sec_password_history, sec_patient_department, sec_user
from huitong.settings import SecuritySettings

#: ``password_changed`` of a password somebody else chose (a credentials reset; an account an administrator created
#: with ``temporary=True``): it must be changed at the next login, whatever ``password_max_age_days`` says.
MUST_CHANGE = datetime(2000, 1, 1, tzinfo=UTC)


class AccountError(Exception):
    """An account operation that cannot be carried out; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Account:
    """A staff or patient account as the login flow needs it."""

    user_id: str
    display_name: str
    role: str
    department: str | None
    patient_id: str | None
    has_totp: bool
    password_changed: datetime | None

    def actor(self, *, source_address: str | None = None, request_id: str | None = None) -> Actor:
        """The actor this account acts as."""
        patient = self.role == Role.PATIENT
        return Actor(
            id=f"{'patient' if patient else 'user'}:{self.user_id}",
            kind=ActorKind.PATIENT if patient else ActorKind.USER,
            role=self.role,
            name=self.display_name,
            source_address=source_address,
            request_id=request_id,
            department=self.department,
            patient_id=self.patient_id,
        )


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a password check. ``account`` is set only on success."""

    account: Account | None
    reason: str = ""
    needs_mfa: bool = False
    password_expired: bool = False


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _account(row: Any) -> Account:
    return Account(
        row.user_id,
        row.display_name,
        row.role,
        row.department,
        row.patient_id,
        row.totp_secret is not None,
        _aware(row.password_changed),
    )


def _require_admin(by: Actor, user_id: str | None = None) -> None:
    if by.kind is not ActorKind.SYSTEM and not grant_of(by.role).manages_accounts:
        raise AccountError(f"{by.id} may not manage accounts")
    if user_id is not None and by.user_id == user_id:
        raise AccountError("nobody may change their own role or memberships")


def _check_role(role: str, patient_id: str | None) -> None:
    if role not in GRANTS or role == "developer":
        raise AccountError(f"unknown role {role!r}")
    if role == Role.PATIENT and not patient_id:
        raise AccountError("a patient account needs the patient's id")


def _audit(db: Database, by: Actor, interaction: str, user_id: str, outcome: Outcome = Outcome.SUCCESS) -> None:
    entry = AuditEntry(interaction, outcome, entity_type="User", entity_id=user_id[:64])
    db.write(lambda conn: audit.record(conn, by, [entry]))


class Accounts:
    """Account operations on one database. ``clock`` is injectable so tests can move time."""

    def __init__(
        self, db: Database, settings: SecuritySettings, cipher: FieldCipher, clock: Callable[[], datetime]
    ) -> None:
        self.db = db
        self.settings = settings
        self.cipher = cipher
        self.clock = clock
        self.policy = PasswordPolicy.from_settings(settings)

    def get(self, user_id: str) -> Account | None:
        with self.db.read() as conn:
            row = conn.execute(sa.select(sec_user).where(sec_user.c.user_id == user_id)).first()
        return _account(row) if row is not None and row.is_active else None

    def create(
        self,
        by: Actor,
        *,
        user_id: str,
        display_name: str,
        role: str,
        password: str | None,
        department: str | None = None,
        patient_id: str | None = None,
        expires: datetime | None = None,
        temporary: bool = False,
    ) -> Account:
        """Create an account (audited as ``user-create``). ``temporary``: the password was chosen by somebody else
        (an administrator) and must be changed at the first login."""
        _require_admin(by)
        _check_role(role, patient_id)
        if password is not None:
            self.policy.check(password, user_id=user_id)
        pw_hash = hash_password(password) if password is not None else None
        self.db.write(
            lambda conn: self.insert(
                conn,
                by,
                user_id=user_id,
                display_name=display_name,
                role=role,
                password_hash=pw_hash,
                department=department,
                patient_id=patient_id,
                expires=expires,
                temporary=temporary,
            )
        )
        account = self.get(user_id)
        assert account is not None  # noqa: S101 - just created
        return account

    def insert(
        self,
        conn: sa.Connection,
        by: Actor,
        *,
        user_id: str,
        display_name: str,
        role: str,
        password_hash: str | None,
        department: str | None = None,
        patient_id: str | None = None,
        expires: datetime | None = None,
        temporary: bool = False,
    ) -> None:
        """Insert an account in the caller's write transaction (audited as ``user-create`` in it).

        For flows that write the account together with other rows, e.g. the portal's self-registration, which
        creates the patient's Patient and account in one transaction. ``password_hash`` comes from
        :func:`~huitong.security.passwords.hash_password` after the caller checked :attr:`policy`.
        """
        _require_admin(by)
        _check_role(role, patient_id)
        if not user_id or len(user_id) > 64 or any(c.isspace() or not c.isprintable() for c in user_id):
            raise AccountError(f"{user_id!r} cannot be a login name: 1 to 64 characters, no spaces")
        now = self.clock()
        if conn.execute(sa.select(sec_user.c.user_id).where(sec_user.c.user_id == user_id)).first():
            raise AccountError(f"the login name {user_id!r} is taken (login names are never reused)")
        conn.execute(
            sec_user.insert().values(
                user_id=user_id,
                display_name=display_name,
                role=role,
                department=department,
                patient_id=patient_id,
                password_hash=password_hash,
                password_changed=(MUST_CHANGE if temporary else now) if password_hash else None,
                failed_logins=0,
                is_active=True,
                expires=expires,
                created=now,
            )
        )
        if password_hash:
            conn.execute(
                sec_password_history.insert().values(user_id=user_id, password_hash=password_hash, changed=now)
            )
        audit.record(conn, by, [AuditEntry("user-create", entity_type="User", entity_id=user_id)])

    def set_role(self, by: Actor, user_id: str, role: str, department: str | None) -> None:
        """Change an account's role and department (a permission change, audited)."""
        _require_admin(by, user_id)
        if role not in GRANTS or role == "developer":
            raise AccountError(f"unknown role {role!r}")
        self.db.write(
            lambda conn: conn.execute(
                sec_user.update().where(sec_user.c.user_id == user_id).values(role=role, department=department)
            )
        )
        _audit(self.db, by, "role-change", user_id)

    def deactivate(self, by: Actor, user_id: str) -> None:
        """Disable an account (accounts are never deleted: their audit trail refers to them)."""
        _require_admin(by, user_id)
        self.db.write(
            lambda conn: conn.execute(sec_user.update().where(sec_user.c.user_id == user_id).values(is_active=False))
        )
        _audit(self.db, by, "user-deactivate", user_id)

    def reset_credentials(self, by: Actor, user_id: str, temporary_password: str) -> None:
        """Set a temporary password that must be changed at the next login, and clear the TOTP secret so the
        user enrols a new one then (after the hospital checked their identity out of band). Audited."""
        _require_admin(by, user_id)
        self.policy.check(temporary_password, user_id=user_id)
        pw_hash = hash_password(temporary_password)

        def job(conn: sa.Connection) -> None:
            conn.execute(
                sec_user.update()
                .where(sec_user.c.user_id == user_id)
                .values(
                    password_hash=pw_hash,
                    password_changed=MUST_CHANGE,
                    totp_secret=None,
                    totp_last_step=None,
                    failed_logins=0,
                    locked_until=None,
                )
            )
            audit.record(conn, by, [AuditEntry("credentials-reset", entity_type="User", entity_id=user_id)])

        self.db.write(job)

    def add_to_care_team(self, by: Actor, user_id: str, patient_id: str, until: datetime | None = None) -> None:
        """Give ``user_id`` access to ``patient_id`` as a member of the care team (audited)."""
        _require_admin(by, user_id)

        def job(conn: sa.Connection) -> None:
            conn.execute(
                sa.delete(sec_care_team).where(
                    sec_care_team.c.user_id == user_id, sec_care_team.c.patient_id == patient_id
                )
            )
            conn.execute(sec_care_team.insert().values(user_id=user_id, patient_id=patient_id, until=until))
            audit.record(conn, by, [AuditEntry("care-team-add", entity_type="Patient", entity_id=patient_id)])

        self.db.write(job)

    def change_password(self, user_id: str, new_password: str) -> None:
        """Set a new password after checking the policy and the history (audited as the user)."""
        with self.db.read() as conn:
            old = [
                r[0]
                for r in conn.execute(
                    sa.select(sec_password_history.c.password_hash)
                    .where(sec_password_history.c.user_id == user_id)
                    .order_by(sec_password_history.c.seq.desc())
                    .limit(max(self.policy.history, 1))
                )
            ]
        self.policy.check(new_password, user_id=user_id, previous_hashes=old if self.policy.history else ())
        pw_hash, now = hash_password(new_password), self.clock()

        def job(conn: sa.Connection) -> None:
            conn.execute(
                sec_user.update()
                .where(sec_user.c.user_id == user_id)
                .values(password_hash=pw_hash, password_changed=now)
            )
            conn.execute(sec_password_history.insert().values(user_id=user_id, password_hash=pw_hash, changed=now))

        self.db.write(job)
        account = self.get(user_id)
        if account is not None:
            _audit(self.db, account.actor(), "password-change", user_id)

    # -- login --------------------------------------------------------------------------------------

    def authenticate(self, user_id: str, password: str, *, source_address: str | None = None) -> LoginResult:
        """Check a password, counting failures and locking the account after too many (audited)."""
        now = self.clock()
        with self.db.read() as conn:
            row = conn.execute(sa.select(sec_user).where(sec_user.c.user_id == user_id)).first()
        if row is None or row.password_hash is None:
            verify_password(dummy_hash(), password)  # same time as a real check
            anon = Actor(
                id=f"login:{user_id[:50]}", kind=ActorKind.USER, role="anonymous", source_address=source_address
            )
            _audit(self.db, anon, "login", user_id, Outcome.MINOR_FAILURE)
            return LoginResult(None, "invalid")
        account = _account(row)
        actor = account.actor(source_address=source_address)
        locked_until = _aware(row.locked_until)
        expires = _aware(row.expires)
        if not row.is_active or (expires is not None and expires <= now):
            _audit(self.db, actor, "login", user_id, Outcome.MINOR_FAILURE)
            return LoginResult(None, "invalid")
        if locked_until is not None and locked_until > now:
            verify_password(dummy_hash(), password)
            _audit(self.db, actor, "login", user_id, Outcome.MINOR_FAILURE)
            return LoginResult(None, "locked")
        if not verify_password(row.password_hash, password):
            failures = (row.failed_logins or 0) + 1
            lock = now + timedelta(minutes=self.settings.lockout_minutes)
            locks = failures >= self.settings.lockout_threshold
            self.db.write(
                lambda conn: conn.execute(
                    sec_user.update()
                    .where(sec_user.c.user_id == user_id)
                    .values(failed_logins=0 if locks else failures, locked_until=lock if locks else None)
                )
            )
            _audit(self.db, actor, "login" if not locks else "lockout", user_id, Outcome.MINOR_FAILURE)
            return LoginResult(None, "locked" if locks else "invalid")
        self.db.write(
            lambda conn: conn.execute(
                sec_user.update().where(sec_user.c.user_id == user_id).values(failed_logins=0, locked_until=None)
            )
        )
        max_age = self.settings.password_max_age_days
        changed = account.password_changed
        expired = changed is not None and (
            changed <= MUST_CHANGE or (bool(max_age) and now - changed > timedelta(days=max_age))
        )
        _audit(self.db, actor, "login", user_id)
        return LoginResult(account, needs_mfa=self.requires_mfa(account), password_expired=expired)

    def requires_mfa(self, account: Account) -> bool:
        """Whether ``account`` must pass the TOTP second factor (its role, its reach, or the settings)."""
        if self.settings.mfa_all_users and account.role != Role.PATIENT:
            return True
        own_department = sa.select(sec_patient_department.c.patient_id).where(
            sec_patient_department.c.department == (account.department or "")
        )
        with self.db.read() as conn:  # care-team patients outside the home department: access beyond it
            beyond = conn.execute(
                sa.select(sa.func.count())
                .select_from(sec_care_team)
                .where(sec_care_team.c.user_id == account.user_id, sec_care_team.c.patient_id.not_in(own_department))
            ).scalar_one()
        return needs_mfa(account.role, self.settings.mfa_roles, has_care_team_beyond_department=bool(beyond)) or (
            account.has_totp
        )

    # -- TOTP ---------------------------------------------------------------------------------------

    def enrol_totp(self, user_id: str) -> str:
        """Start TOTP enrolment: a new secret (stored encrypted); returns it for the QR code / manual entry."""
        secret = totp.new_secret()
        sealed = self.cipher.encrypt("totp_secret", secret)
        self.db.write(
            lambda conn: conn.execute(
                sec_user.update().where(sec_user.c.user_id == user_id).values(totp_secret=sealed, totp_last_step=None)
            )
        )
        account = self.get(user_id)
        if account is not None:
            _audit(self.db, account.actor(), "mfa-enrol", user_id)
        return secret

    def verify_totp(self, user_id: str, code: str) -> bool:
        """Check a TOTP code (once per time step); failures count towards lock-out."""
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(sec_user.c.totp_secret, sec_user.c.totp_last_step).where(sec_user.c.user_id == user_id)
            ).first()
        if row is None or row.totp_secret is None:
            return False
        secret = self.cipher.decrypt("totp_secret", row.totp_secret)
        step = totp.accepted_step(secret, code, self.clock(), last_step=row.totp_last_step)
        account = self.get(user_id)
        actor = account.actor() if account else Actor(id=f"user:{user_id}", kind=ActorKind.USER, role="anonymous")
        if step is None:
            self.authenticate_failure(user_id)
            _audit(self.db, actor, "mfa", user_id, Outcome.MINOR_FAILURE)
            return False
        self.db.write(
            lambda conn: conn.execute(
                sec_user.update().where(sec_user.c.user_id == user_id).values(totp_last_step=step)
            )
        )
        _audit(self.db, actor, "mfa", user_id)
        return True

    def rotate_keys(self) -> int:
        """Re-encrypt every stored TOTP secret under the active field key; returns how many changed.

        Safe while Huitong runs: old and new keys both decrypt until the old one is retired.
        """

        def job(conn: sa.Connection) -> int:
            rows = conn.execute(
                sa.select(sec_user.c.user_id, sec_user.c.totp_secret).where(sec_user.c.totp_secret.is_not(None))
            ).all()
            changed = 0
            for user_id, sealed in rows:
                rotated = self.cipher.rotate("totp_secret", sealed)
                if rotated != sealed:
                    conn.execute(sec_user.update().where(sec_user.c.user_id == user_id).values(totp_secret=rotated))
                    changed += 1
            return changed

        return self.db.write(job)

    def authenticate_failure(self, user_id: str) -> None:
        """Count a failed second factor like a failed password."""
        now = self.clock()

        def job(conn: sa.Connection) -> None:
            row = conn.execute(sa.select(sec_user.c.failed_logins).where(sec_user.c.user_id == user_id)).first()
            failures = (row.failed_logins if row else 0) + 1
            locks = failures >= self.settings.lockout_threshold
            lock = now + timedelta(minutes=self.settings.lockout_minutes) if locks else None
            conn.execute(
                sec_user.update()
                .where(sec_user.c.user_id == user_id)
                .values(failed_logins=0 if locks else failures, locked_until=lock)
            )

        self.db.write(job)
