"""The service layer: one use case per command, composed into the Registry application."""

from registry.application.achievements import AchievementUseCases
from registry.application.config import Config
from registry.application.credentials import Award, CredentialUseCases, parse_batch_csv
from registry.application.endorsements import EndorsementUseCases
from registry.application.export import ExportUseCases
from registry.application.issuers import IssuerUseCases
from registry.application.reading import ReadingUseCases
from registry.application.results import BatchWritten, ConflictError, Written
from registry.application.status_lists import StatusListUseCases
from registry.application.trust import TrustUseCases
from registry.application.verifying import VerificationUseCases


class Registry(
    IssuerUseCases,
    AchievementUseCases,
    CredentialUseCases,
    StatusListUseCases,
    EndorsementUseCases,
    VerificationUseCases,
    ExportUseCases,
    TrustUseCases,
    ReadingUseCases,
):
    """Every use case of the registry over one event store."""


__all__ = [
    "Award", "BatchWritten", "Config", "ConflictError", "Registry", "Written", "parse_batch_csv",
]
