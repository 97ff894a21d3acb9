"""The read side: projections of the event log into read-model tables in the event store's own
database, and `Queries`, the one door through which everything reads them. Each projection module
owns its tables: their layout (DDL and version), how events become rows, and the reads over them."""

from registry.projections.credentials import EXPIRED, NOT_ISSUED, CredentialStatus
from registry.projections.directory import AchievementView, IssuerView
from registry.projections.endorsements import EndorsementView
from registry.projections.extension_contexts import ContextView
from registry.projections.imports import ImportView
from registry.projections.issuer_keys import KeyState
from registry.projections.kpis import Kpis
from registry.projections.queries import CredentialRecord, EventRecord, Page, Queries
from registry.projections.read_model import PROJECTIONS, ReadModel
from registry.projections.runner import ProjectionStatus, ReadStoreError, Runner
from registry.projections.trust import Hop
from registry.projections.trust_anchors import AnchorView

__all__ = [
    "EXPIRED", "NOT_ISSUED", "PROJECTIONS", "AchievementView", "AnchorView", "ContextView", "CredentialRecord", "CredentialStatus",
    "EndorsementView", "EventRecord", "Hop", "ImportView", "IssuerView", "KeyState", "Kpis", "Page", "ProjectionStatus",
    "Queries", "ReadModel", "ReadStoreError", "Runner",
]
