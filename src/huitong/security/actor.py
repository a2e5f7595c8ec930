"""The actor: who performs a call, in which role, on whose behalf and from where.

Every call into the resource store carries one (Medplum builds its repository from a similar context).
A call without an actor is refused, so no code path can read or write patient data anonymously; the
audit trail records the actor of every call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class ActorKind(StrEnum):
    """What kind of party acts."""

    USER = "user"  # a member of staff signed in to the platform
    PATIENT = "patient"  # a patient using the portal
    SYSTEM = "system"  # a trusted internal producer or a system-to-system client (MLLP, import, demo)
    DEVELOPMENT = "dev"  # anonymous caller accepted only in development mode


class MissingActorError(Exception):
    """A call reached the store without an actor; it is refused."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts. ``id`` is stable and unique (``user:zhang.wei``, ``system:mllp``)."""

    id: str
    kind: ActorKind
    role: str
    name: str | None = None
    on_behalf_of: str | None = None
    source_address: str | None = None
    purpose_of_use: str | None = None
    request_id: str | None = None
    department: str | None = None  # home department (Organization id) of a member of staff
    patient_id: str | None = None  # the patient a patient account (or a patient/ scoped token) is confined to
    scopes: tuple[str, ...] = ()  # SMART scopes of an OAuth token; empty: not narrowed by scopes

    @property
    def user_id(self) -> str | None:
        """The login name of a staff or patient account (``user:zhang.wei`` → ``zhang.wei``)."""
        prefix, _, rest = self.id.partition(":")
        return rest if prefix in ("user", "patient") else None

    def __post_init__(self) -> None:
        if not self.id or not self.role:
            raise MissingActorError("an actor needs an id and a role")

    @classmethod
    def system(cls, name: str, *, source_address: str | None = None) -> Actor:
        """A trusted internal producer, e.g. ``Actor.system("mllp")`` or ``Actor.system("demo")``."""
        return cls(
            id=f"system:{name}",
            kind=ActorKind.SYSTEM,
            role="system",
            name=name,
            source_address=source_address,
        )

    def with_request(self, *, request_id: str | None, source_address: str | None) -> Actor:
        """The same actor, tagged with the request it is acting in."""
        return replace(self, request_id=request_id, source_address=source_address or self.source_address)


def require_actor(actor: object) -> Actor:
    """Return ``actor`` if it is an :class:`Actor`; otherwise refuse the call."""
    if not isinstance(actor, Actor):
        raise MissingActorError("refused: every call to the resource store must carry an Actor")
    return actor
