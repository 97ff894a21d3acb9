"""Read models with tracked positions over the notification log, in the event store's database,
and the answers they give now or as of any instant (see read_model.py)."""

from registry.projections.queries import CredentialStatus, EndorsementView, KeyState
from registry.projections.read_model import PROJECTIONS, ReadModel, read_model
from registry.projections.runner import ProjectionStatus, Runner
from registry.projections.store import ReadStoreError, moment

__all__ = [
    "PROJECTIONS", "CredentialStatus", "EndorsementView", "KeyState", "ProjectionStatus",
    "ReadModel", "ReadStoreError", "Runner", "moment", "read_model",
]
