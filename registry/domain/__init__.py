"""The registry's domain: aggregates and their rules. Imports nothing of storage, HTTP, crypto or the clock."""

from registry.domain.achievement import Achievement
from registry.domain.credential import Credential
from registry.domain.did_claim import DidClaim
from registry.domain.endorsement import Endorsement, StandingEndorsement
from registry.domain.extension_context import ExtensionContext
from registry.domain.imported import ImportedCredential
from registry.domain.legacy_profile import LegacyProfile
from registry.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidTransition,
    NotAuthorised,
    NotFound,
)
from registry.domain.issuer import Issuer, SigningKey
from registry.domain.recipient import Recipient

__all__ = [
    "Achievement", "AlreadyExists", "ImportedCredential", "Credential", "DidClaim", "DomainError", "Endorsement", "ExtensionContext", "InvalidTransition",
    "Issuer", "LegacyProfile", "NotAuthorised", "NotFound", "Recipient", "SigningKey", "StandingEndorsement",
]
