"""Event-store adapters: where events live (settings), how they are encoded (encoding), the
database-level guard that keeps them append-only (append_only), the event store itself
(event_store) and plain SQL beside it (database)."""

from registry.store.append_only import (
    REFUSAL,
    AppendOnlyError,
    AppendOnlyPostgresRecorder,
    enforce_append_only,
    grant_application_role,
    grant_tables,
    require_owner,
)
from registry.store.database import Cursor, Database, open_database
from registry.store.encoding import EventSchemaError, MsgspecMapper, PassThroughTranscoder
from registry.store.event_store import ConflictError, EventStore
from registry.store.outages import RETRY_AFTER, is_outage, missing_privilege, unavailable
from registry.store.settings import (
    StoreSettings,
    StoreSettingsError,
    describe,
    eventsourcing_env,
    parse_database_url,
)

__all__ = [
    "REFUSAL",
    "RETRY_AFTER",
    "AppendOnlyError",
    "AppendOnlyPostgresRecorder",
    "ConflictError",
    "Cursor",
    "Database",
    "EventSchemaError",
    "EventStore",
    "MsgspecMapper",
    "PassThroughTranscoder",
    "StoreSettings",
    "StoreSettingsError",
    "describe",
    "enforce_append_only",
    "eventsourcing_env",
    "grant_application_role",
    "grant_tables",
    "is_outage",
    "missing_privilege",
    "open_database",
    "parse_database_url",
    "require_owner",
    "unavailable",
]
