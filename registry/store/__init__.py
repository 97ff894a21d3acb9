"""Event-store adapters: where events live (settings), how they are encoded (encoding), and the
database-level guard that keeps them append-only (append_only)."""

from registry.store.append_only import (
    REFUSAL,
    AppendOnlyError,
    AppendOnlyPostgresRecorder,
    enforce_append_only,
    grant_application_role,
)
from registry.store.encoding import EventSchemaError, MsgspecMapper, PassThroughTranscoder
from registry.store.settings import (
    StoreSettings,
    StoreSettingsError,
    describe,
    eventsourcing_env,
    parse_database_url,
)

__all__ = [
    "REFUSAL",
    "AppendOnlyError",
    "AppendOnlyPostgresRecorder",
    "EventSchemaError",
    "MsgspecMapper",
    "PassThroughTranscoder",
    "StoreSettings",
    "StoreSettingsError",
    "describe",
    "enforce_append_only",
    "eventsourcing_env",
    "grant_application_role",
    "parse_database_url",
]
