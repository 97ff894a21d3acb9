"""Deterministic identities: the same slug or recipient always names the same aggregate, so a duplicate
registration collides in the event store instead of creating a second record."""

from uuid import UUID, uuid5

# A fixed namespace for this registry's name-based ids (never change it: stored ids depend on it).
NAMESPACE = UUID("6f3c2b1e-5d4a-4b8f-9c7e-0a1b2c3d4e5f")


def issuer_id(slug: str) -> UUID:
    return uuid5(NAMESPACE, f"issuer:{slug}")


def recipient_id(recipient: str) -> UUID:
    return uuid5(NAMESPACE, f"recipient:{recipient}")


def did_claim_id(did: str) -> UUID:
    return uuid5(NAMESPACE, f"did:{did}")


def endorsement_id(document_id: str) -> UUID:
    """Self-signed endorsements are identified by their document id, so a replay collides."""
    return uuid5(NAMESPACE, f"endorsement:{document_id}")


def standing_endorsement_id(endorser_id: UUID, subject_id: UUID) -> UUID:
    """One endorser's standing endorsement of one subject: a second one collides."""
    return uuid5(NAMESPACE, f"standing-endorsement:{endorser_id}:{subject_id}")


def submitted_credential_id(document_id: str) -> UUID:
    """A credential its issuer signed and submitted, whose id is not a urn:uuid: a replay collides."""
    return uuid5(NAMESPACE, f"credential:{document_id}")


def imported_credential_id(credential_id: str) -> UUID:
    """A credential brought in from another platform, by its own id: importing it again finds it."""
    return uuid5(NAMESPACE, f"imported:{credential_id}")


def extension_context_id(url: str) -> UUID:
    """A JSON-LD context the operator registered, by its URL: registering it again finds it."""
    return uuid5(NAMESPACE, f"context:{url}")


def legacy_profile_id(profile_url: str) -> UUID:
    """An OB 2.0 issuer Profile some organisation proved it controls: one per URL."""
    return uuid5(NAMESPACE, f"ob2-profile:{profile_url}")


def reissued_achievement_id(issuer: UUID, badge_class_url: str) -> UUID:
    """The Achievement an organisation's OB 2.0 BadgeClass becomes when its badges are re-issued:
    the same one for every badge of that BadgeClass."""
    return uuid5(NAMESPACE, f"reissued-achievement:{issuer}:{badge_class_url}")
