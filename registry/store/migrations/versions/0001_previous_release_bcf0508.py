"""Baseline: the store as the previous release left it, commit bcf0508 (the last made without
migrations; its start-up code created every table). Nothing is created here: this revision records
that layout and is what an unversioned registry's database is stamped with, after a check that it is
one (its events table exists).

That release's tables beside the events, both stores unless noted: the event store's (SQLite
`stored_events`; PostgreSQL `registry_events`, its notification-id sequence, the insert-lock function
and the append-only triggers), the transparency log's `log_leaves`, `log_nodes`, `log_checkpoints`,
`log_state`; `http_cache`; `images`; `api_keys`, `api_idempotency`, and on PostgreSQL `rate_limits`,
`event_streams` (SQLite keeps those two in limits.sqlite, rebuilt at will); the read models'
`projection_positions`, `projection_quarantine` and projection tables (versioned by the projections,
not here). tests/fixtures/previous_release holds a database of it on each store.

Revision ID: 0001_bcf0508
Revises:
"""

from alembic import op
from sqlalchemy import inspect

revision = "0001_bcf0508"
down_revision = None
branch_labels = None
depends_on = None

EVENTS = {"sqlite": "stored_events", "postgresql": "registry_events"}


def upgrade() -> None:
    bind = op.get_bind()
    events = EVENTS[bind.dialect.name]
    schema = op.get_context().version_table_schema
    if not inspect(bind).has_table(events, schema=schema):
        raise RuntimeError(f"no {events} table: this is not a registry's database to stamp with the baseline")


def downgrade() -> None:
    raise NotImplementedError("the registry is not downgraded: restore the backup taken before the upgrade")
