"""The write side: one use case per command, grouped by what it changes. Every command asks the one
authorisation policy (policy.authorise) before it changes anything, signs through key custody
(custody.KeyCustody) when a document must be signed, saves all new events in one transaction and
returns what it made with the notification position of the write."""

from __future__ import annotations

from dataclasses import dataclass

from registry.commands.achievements import AchievementCommands
from registry.commands.batch_file import parse_batch_csv
from registry.commands.contexts import AddedContext, ContextCommands
from registry.commands.credentials import MAX_BATCH, MAX_BATCH_BYTES, Award, CredentialCommands
from registry.commands.custody import CustodyError, KeyCustody
from registry.commands.endorsements import MAX_DOCUMENT_BYTES, EndorsementCommands
from registry.commands.images import ImageCommands, StoredImageOut
from registry.commands.imports import MAX_IMPORT_BYTES, ImportCommands
from registry.commands.issuers import IssuerCommands
from registry.commands.policy import Actor, authorise
from registry.commands.results import BatchWritten, Written, utc_now
from registry.commands.status_lists import StatusListCommands, StatusListSlots
from registry.commands.trust import TrustCommands


@dataclass(frozen=True)
class Commands:
    issuers: IssuerCommands
    achievements: AchievementCommands
    credentials: CredentialCommands
    endorsements: EndorsementCommands
    trust: TrustCommands
    status_lists: StatusListCommands
    images: ImageCommands  # storing achievement and organisation images
    imports: ImportCommands  # credentials other platforms issued, verified and recorded with provenance
    contexts: ContextCommands  # JSON-LD extension contexts the operator pins for achievements to use


__all__ = [
    "MAX_BATCH", "MAX_BATCH_BYTES", "MAX_DOCUMENT_BYTES", "MAX_IMPORT_BYTES", "Actor", "AddedContext", "Award", "BatchWritten", "Commands", "CustodyError", "KeyCustody",
    "StatusListSlots", "StoredImageOut", "Written", "authorise", "parse_batch_csv", "utc_now",
]
