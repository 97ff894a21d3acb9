"""Backup and restore of the production store, as deploy/README.md tells an operator to do it:
`pg_dump --format=custom` of the registry's database and `pg_restore` into an empty one reproduce every
answer (credential status, verification verdicts, the organisation's keys) and the transparency log's
signed root; the restored registry goes on writing, and its log still verifies from the first leaf.
(The event export/import round trip, `registry export` / `registry import`, is tested in test_log.py.)"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from conftest import PgDatabase, find_pg_ctl
from registry.commands import Actor, Award

OPERATOR = Actor("test")


@pytest.fixture
def store_kind() -> str:
    return "postgres"


def answers(registry, credentials: list[str], documents: list[dict]) -> dict:
    latest = registry.queries.log.reader.latest()
    return {
        "position": registry.store.max_position(),
        "statuses": [registry.queries.credential_status(c).status for c in credentials],
        "verdicts": [registry.queries.verify(d).verdict for d in documents],
        "keys": [(k.verification_method, k.state) for k in registry.queries.keys(registry.queries.issuer("acme").id)],
        "checkpoint": (latest.size, latest.root),
    }


def test_pg_dump_and_pg_restore_reproduce_every_answer_and_the_log_root(open_registry, pg_server, pg_database,
                                                                       registry_environ, tmp_path):
    registry = open_registry()
    commands = registry.commands
    commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    commands.issuers.register(slug="partner", name="Partner", actor=OPERATOR)
    badge = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    issued = [commands.credentials.issue(Award(f"l{n}@example.org", badge, "8"), actor=OPERATOR) for n in range(4)]
    commands.credentials.revoke(issued[0].id, reason="issued in error", actor=OPERATOR)
    commands.issuers.rotate_key("acme", actor=OPERATOR)
    commands.endorsements.endorse(by="partner", subject=badge, comment="We hire on this.", actor=OPERATOR)
    ids, documents = [w.id for w in issued], [w.document for w in issued]
    before = answers(registry, ids, documents)
    registry.close()

    bin_dir = Path(find_pg_ctl()).parent
    dump = tmp_path / "registry.dump"
    connection = ["--host", pg_database.host, "--port", str(pg_database.port), "--username", pg_database.user]
    subprocess.run([str(bin_dir / "pg_dump"), *connection, "--format=custom", "--file", str(dump),
                    pg_database.dbname], check=True, capture_output=True, timeout=120)
    janitor = DatabaseJanitor(user=pg_server.user, host=pg_server.host, port=pg_server.port,
                              dbname=f"restored_{uuid.uuid4().hex[:12]}", maintenance_dbname="postgres")
    janitor.init()  # empty: what pg_restore makes is all there is
    try:
        restored_db = PgDatabase(pg_server.host, pg_server.port, pg_server.user, janitor.dbname)
        done = subprocess.run([str(bin_dir / "pg_restore"), *connection, "--dbname", janitor.dbname,
                               "--exit-on-error", str(dump)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        restored = open_registry(REGISTRY_DATABASE_URL=restored_db.dsn)
        assert answers(restored, ids, documents) == before
        assert restored.queries.log.verify_all() is not None  # every leaf against every signed checkpoint
        # It goes on: a new award is signed with the rotated key and logged after the restored history.
        more = restored.commands.credentials.issue(Award("l9@example.org", badge, "9"), actor=OPERATOR)
        assert restored.queries.verify(more.document).verdict == "VALID"
        assert restored.store.max_position() > before["position"]
        restored.close()
    finally:
        janitor.drop()
