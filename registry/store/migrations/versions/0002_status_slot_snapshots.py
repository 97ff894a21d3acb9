"""The status-list slot ledger's snapshots (registry/store/slot_snapshots.py): one row per list with
its allocated bits as of a log position, so a new process replays only what was logged since
(issue J, part 6). Derived data: created empty, the first process that allocates fills it.

On PostgreSQL the roles `registry init --app-role` made able to append events get the rights that
command now grants on this table, so a service running as such a role can use it without the
owner granting anew.

Revision ID: 0002_slot_snapshots
Revises: 0001_bcf0508
"""

from alembic import op

revision = "0002_slot_snapshots"
down_revision = "0001_bcf0508"
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    blob = "BYTEA" if postgres else "BLOB"
    # IF NOT EXISTS: start-up may have created it already (registry/store/migrations/__init__.py).
    op.execute(f"CREATE TABLE IF NOT EXISTS status_slot_snapshots (issuer_id TEXT NOT NULL, purpose TEXT NOT NULL,"
               f" list_number INTEGER NOT NULL, bits {blob} NOT NULL, entries INTEGER NOT NULL,"
               " position BIGINT NOT NULL, PRIMARY KEY (issuer_id, purpose, list_number))")
    if postgres:
        op.execute(
            "DO $grant$DECLARE r record; BEGIN"
            " FOR r IN SELECT DISTINCT a.grantee::regrole::text AS role FROM pg_class c, aclexplode(c.relacl) a"
            " WHERE c.oid = 'registry_events'::regclass AND a.privilege_type = 'INSERT'"
            " AND a.grantee <> c.relowner AND a.grantee <> 0"
            " LOOP EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON status_slot_snapshots TO %s', r.role);"
            " END LOOP; END$grant$")


def downgrade() -> None:
    raise NotImplementedError("the registry is not downgraded: restore the backup taken before the upgrade")
