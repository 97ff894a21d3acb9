"""Alembic's environment for the registry's store: always online, on the connection (and in the
transaction) registry.store.migrations.upgrade opened, so the check of what the database holds,
the revisions and the new `alembic_version` commit together or not at all. On PostgreSQL the
version table lives in the registry's schema (REGISTRY_DATABASE_URL ?schema=), beside its tables."""

from alembic import context

if context.is_offline_mode():
    # SQL scripts for someone else to run would skip the checks upgrade() makes first.
    raise SystemExit("the registry's migrations run online only: `registry init`")

config = context.config
context.configure(connection=config.attributes["connection"],
                  version_table_schema=config.attributes.get("schema") or None)
with context.begin_transaction():
    context.run_migrations()
