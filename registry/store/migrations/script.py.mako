"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Explicit SQL per dialect (op.get_bind().dialect.name: "sqlite" or "postgresql"). The database may
already be at this revision's layout (start-up created the current tables before `registry init`
stamped them): leave it unchanged then (registry/store/migrations/__init__.py)."""

from alembic import op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ${upgrades if upgrades else "raise NotImplementedError('write the change')"}


def downgrade() -> None:
    raise NotImplementedError("the registry is not downgraded: restore the backup taken before the upgrade")
