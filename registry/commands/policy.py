"""Who may change what: one rule, asked by every command before it changes anything.

An actor is whoever asks for a change: the registry's operator (the command line, an admin API
key) or an organisation (an API key that acts for one issuer). The operator may make any change;
an organisation only changes what is its own: its profile and keys, its achievements, credentials
and endorsements. Changes to the registry as a whole (registering organisations, trust anchors)
are the operator's alone. Events record `actor.name`, so the log says who did it."""

from __future__ import annotations

from dataclasses import dataclass

from registry.domain import NotAuthorised


@dataclass(frozen=True)
class Actor:
    name: str  # recorded in events: "cli:alice", "api:rk_1a2b3c4d"
    issuer: str | None = None  # the organisation (slug) it acts for; None: the registry's operator

    @property
    def is_operator(self) -> bool:
        return self.issuer is None


def authorise(actor: Actor, issuer: str | None, action: str = "do this") -> None:
    """Refuse (NotAuthorised) unless `actor` may `action` for `issuer`; `issuer` None means the
    registry as a whole."""
    if actor.is_operator:
        return
    if issuer is None:
        raise NotAuthorised(f"only the registry's operator may {action}; {actor.name} acts for {actor.issuer}")
    if actor.issuer != issuer:
        raise NotAuthorised(f"{actor.name} acts for {actor.issuer} and may not {action} for {issuer}")
