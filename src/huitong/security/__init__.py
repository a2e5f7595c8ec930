"""Security: who is acting (Actor), the audit trail, and (with the security issue) login and access rules."""

from huitong.security.actor import Actor, ActorKind, MissingActorError, require_actor

__all__ = ["Actor", "ActorKind", "MissingActorError", "require_actor"]
