"""The transparency log on SQLite and PostgreSQL: every event a leaf in the events' own transaction,
a checkpoint signed after every write and refused when the stored history was rewritten, proofs,
tiles, receipts, export/import with identical roots, and `registry audit` catching rewrites and
rollbacks (through the CLI, as an auditor runs it)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from registry.commands import Actor, Award
from registry.log import note, tiles, tree
from registry.log.checkpoint import Checkpoint
from registry.log.checkpoints import LogDiverged
from registry.log.receipts import ReceiptError, verify_receipt

OPERATOR = Actor("test")
LEARNER = "did:example:learner"


def populate(registry, credentials: int = 3) -> list[str]:
    badge = define_badge(registry)
    return [registry.commands.credentials.issue(Award(LEARNER, badge), actor=OPERATOR).id for _ in range(credentials)]


def define_badge(registry) -> str:
    registry.commands.issuers.register(slug="acme", name="Acme Academy", url="https://acme.example", actor=OPERATOR)
    return registry.commands.achievements.define(
        issuer="acme", actor=OPERATOR, requires=[],
        definition={"name": "Teamwork", "description": "Works in a team.", "criteria": {"narrative": "Observed."}}).id


def exported(registry) -> list[bytes]:
    return list(registry.queries.log.entries())


def signed_checkpoint(registry) -> Checkpoint:
    log = registry.queries.log
    return Checkpoint.parse(note.open_note(log.latest().note, log.key()))


def cli(env: dict[str, str], *argv: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, f"registry {' '.join(argv)}: {done.stderr.strip()}"
    return done


def test_every_write_is_a_leaf_and_in_a_signed_checkpoint_whose_root_the_export_gives(registry):
    populate(registry)
    lines = exported(registry)
    assert len(lines) == registry.store.max_position()  # no gaps in a fresh store
    checkpoint = signed_checkpoint(registry)
    assert checkpoint.size == len(lines)
    assert tree.root_of_leaves(tree.leaf_hash(line) for line in lines) == (len(lines), checkpoint.root)
    assert checkpoint.origin == "badges.test/log" and checkpoint.time is not None
    first = json.loads(lines[0])
    assert first["topic"].endswith("Issuer.Registered") and list(first) == [
        "originator_id", "originator_version", "topic", "state"]


def test_proofs_for_every_index_and_size_verify_against_the_stored_tree(registry):
    populate(registry, credentials=2)
    log = registry.queries.log
    lines = exported(registry)
    size = log.latest().size
    roots = {n: tree.root_of_leaves(tree.leaf_hash(x) for x in lines[:n])[1] for n in range(1, size + 1)}
    for n in range(1, size + 1):
        for i in range(n):
            found = log.inclusion(i, n)
            tree.verify_inclusion(i, n, tree.leaf_hash(lines[i]), found.hashes, roots[n])
        for m in range(1, n + 1):
            old, new, hashes = log.consistency(m, n)
            tree.verify_consistency(m, n, roots[m], roots[n], hashes)
    with pytest.raises(tree.ProofError):
        broken = log.inclusion(1, size).hashes
        tree.verify_inclusion(1, size, tree.leaf_hash(lines[1]), broken[:-1], roots[size])


def test_tiles_and_bundles_are_what_the_entries_hash_to(registry):
    populate(registry)
    log = registry.queries.log
    size = log.latest().size
    lines = exported(registry)
    bundle = log.tile("entries", 0, size)
    assert tiles.unbundle(bundle, size) == lines
    assert tiles.split_hashes(log.tile("0", 0, size), size) == [tree.leaf_hash(x) for x in lines]
    from registry.log.service import LogUnavailable
    with pytest.raises(LogUnavailable):
        log.tile("0", 0, size + 1)  # beyond the latest checkpoint: not served


def test_a_receipt_verifies_offline_and_a_forged_one_does_not(registry):
    credential = populate(registry)[0]
    from uuid import UUID
    log = registry.queries.log
    receipt = log.inclusion_of(UUID(credential)).receipt(log.key().vkey)
    assert credential in receipt["entry"]
    verified = verify_receipt(json.dumps(receipt), log.key().vkey)
    assert verified["index"] == receipt["index"]
    forged = {**receipt, "entry": receipt["entry"].replace("Teamwork", "Leadership")}
    with pytest.raises(ReceiptError):
        verify_receipt(json.dumps(forged), log.key().vkey)
    other = note.Verifier.of("badges.test/log", bytes(32 * [7])).vkey
    with pytest.raises(ReceiptError):
        verify_receipt(json.dumps(receipt), other)


def test_the_verification_report_says_where_the_credential_is_in_the_log(registry):
    credential = populate(registry)[0]
    line = next(x for x in exported(registry) if credential.encode() in x and b"Credential.Issued" in x)
    document = json.loads(json.loads(line)["state"]["document"])
    report = registry.queries.verify(document)
    check = next(c for c in report.checks if c.name == "log")
    assert check.outcome == "pass" and check.code == "log.included", check
    assert report.verdict == "VALID"


def test_import_reproduces_the_identical_root_and_refuses_a_different_store(registry, open_registry, tmp_path):
    populate(registry)
    lines = exported(registry)
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    target = open_registry(REGISTRY_HOME=str(tmp_path / "restored"), REGISTRY_KEYS=str(tmp_path / "keys2"),
                           REGISTRY_DATABASE_URL="")
    with path.open("rb") as file:
        size, root = target.restore(file, str(path))
    assert (size, root) == (len(lines), signed_checkpoint(registry).root)
    assert exported(target) == lines
    with path.open("rb") as file:  # finishing an import that is complete changes nothing
        assert target.restore(file, str(path)) == (size, root)
    from registry.errors import InputError
    changed = tmp_path / "changed.jsonl"
    changed.write_bytes(lines[0] + b"\n" + lines[2] + b"\n")
    with pytest.raises(InputError, match="line 2 differs"), changed.open("rb") as file:
        target.restore(file, str(changed))


def _rewrite(raw_db, store_kind: str, statement: str, params: tuple) -> None:
    """Change history as whoever runs the database can: past the append-only guards."""
    if store_kind == "sqlite":
        for table in ("stored_events", "log_leaves", "log_nodes", "log_checkpoints"):
            raw_db.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            raw_db.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        raw_db.execute(statement, params)
    else:
        with raw_db.pg.connect() as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute(statement, params)
            conn.commit()


def _events_table(store_kind: str) -> str:
    return "stored_events" if store_kind == "sqlite" else "registry_events"


def test_a_deleted_revocation_is_refused_by_the_pre_signing_check_and_by_the_audit(
        registry, raw_db, store_kind, tmp_path):
    credentials = populate(registry)
    registry.commands.credentials.revoke(credentials[0], reason="fraud", actor=OPERATOR)
    registry.commands.issuers.register(slug="beta", name="Beta", url="https://beta.example", actor=OPERATOR)
    log = registry.queries.log
    good = log.latest()
    lines = exported(registry)
    # An auditor checked the log as it was, and kept its state.
    state, before, checkpoint = tmp_path / "audit-state", tmp_path / "before.jsonl", tmp_path / "checkpoint"
    before.write_bytes(b"".join(x + b"\n" for x in lines))
    checkpoint.write_text(good.note)
    cli({}, "audit", "--export", str(before), "--checkpoint", str(checkpoint), "--key", log.key().vkey,
        "--state", str(state))
    revoked = next(i for i, x in enumerate(lines) if b"Credential.Revoked" in x)
    position = log.reader.leaf_hashes(revoked, revoked + 1)[0][1]
    _rewrite(raw_db, store_kind, f"DELETE FROM {_events_table(store_kind)} WHERE {_id(store_kind)} = {_mark(store_kind)}",
             (position,))
    registry.queries.read_model.runner.rebuild()
    assert registry.queries.credential_status(credentials[0]).status == "active"  # what the rewrite achieved
    registry.commands.credentials.suspend(credentials[1], reason="check", actor=OPERATOR)  # the next write
    assert log.latest() == good  # nothing newer was signed; the last good checkpoint stays served
    assert f"leaf {revoked} (position {position}): its event was deleted" in log.problem()[0]
    with pytest.raises(LogDiverged, match=f"leaf {revoked} "):
        log.sign()
    # The auditor is handed the history as the store now has it, with the signed checkpoint.
    export = tmp_path / "after.jsonl"
    export.write_bytes(b"".join(e.entry + b"\n" for e in log.reader.events(0, 10**12)))
    done = cli({}, "audit", "--export", str(export), "--checkpoint", str(checkpoint), "--key", log.key().vkey,
               ok=False)
    assert done.returncode == 1 and "another root" in done.stderr, done.stderr  # no state: something changed
    done = cli({}, "audit", "--export", str(export), "--checkpoint", str(checkpoint), "--key", log.key().vkey,
               "--state", str(state), "--full", ok=False)
    assert done.returncode == 1 and done.stderr.strip() == (
        f"registry audit: leaf {revoked}: the entry differs from the one verified on an earlier run: "
        "the log was rewritten"), done.stderr


def _id(store_kind: str) -> str:
    return "rowid" if store_kind == "sqlite" else "notification_id"


def _mark(store_kind: str) -> str:
    return "?" if store_kind == "sqlite" else "%s"


def test_a_changed_old_event_is_named_by_the_check(registry, raw_db, store_kind):
    populate(registry)
    log = registry.queries.log
    lines = exported(registry)
    target = 2
    position = log.reader.leaf_hashes(target, target + 1)[0][1]
    state = json.loads(lines[target])["state"]
    state["actor"] = "someone-else"
    _rewrite(raw_db, store_kind, f"UPDATE {_events_table(store_kind)} SET state = {_mark(store_kind)} "
                                 f"WHERE {_id(store_kind)} = {_mark(store_kind)}",
             (json.dumps(state, separators=(",", ":")).encode(), position))
    with pytest.raises(LogDiverged, match=f"leaf {target} \\(position {position}\\): the stored event differs"):
        log.verify_all()
    registry.commands.issuers.register(slug="beta", name="Beta", url="https://beta.example", actor=OPERATOR)
    assert f"leaf {target} (position {position})" in log.problem()[0]


def test_a_rollback_is_caught_by_consistency_with_the_earlier_checkpoint(registry, raw_db, store_kind, tmp_path):
    credentials = populate(registry)
    log = registry.queries.log
    vkey = log.key().vkey
    sizes = [size for size, in raw_db.execute("SELECT size FROM log_checkpoints ORDER BY size")]
    state = tmp_path / "audit-state"
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"".join(x + b"\n" for x in exported(registry)))
    (tmp_path / "cp1").write_text(log.latest().note)
    cli({}, "audit", "--export", str(first), "--checkpoint", str(tmp_path / "cp1"), "--key", vkey, "--state", str(state))
    registry.commands.credentials.revoke(credentials[0], reason="fraud", actor=OPERATOR)
    # The operator rolls history back to an earlier signed size: the last events, their leaves and
    # the checkpoints after it go.
    kept = sizes[-2]
    position = log.reader.leaf_hashes(kept, kept + 1)[0][1]
    mark = _mark(store_kind)
    _rewrite(raw_db, store_kind, f"DELETE FROM {_events_table(store_kind)} WHERE {_id(store_kind)} >= {mark}", (position,))
    _rewrite(raw_db, store_kind, f"DELETE FROM log_leaves WHERE leaf >= {mark}", (kept,))
    _rewrite(raw_db, store_kind, f"DELETE FROM log_checkpoints WHERE size > {mark}", (kept,))
    rolled = tmp_path / "rolled.jsonl"
    rolled.write_bytes(b"".join(x + b"\n" for x in exported(registry)))
    (tmp_path / "cp2").write_text(log.latest().note)
    assert log.latest().size == kept
    done = cli({}, "audit", "--export", str(rolled), "--checkpoint", str(tmp_path / "cp2"), "--key", vkey,
               "--state", str(state), ok=False)
    assert done.returncode == 1 and "shrank" in done.stderr and "rollback" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_database_refuses_to_change_the_log(registry, raw_db, store_kind):
    populate(registry, credentials=1)
    for statement in ("DELETE FROM log_leaves", "UPDATE log_nodes SET hash = hash", "DELETE FROM log_checkpoints"):
        with pytest.raises(Exception, match="append-only"):
            raw_db.execute(statement)
    assert registry.queries.log.verify_all().size == registry.queries.log.reader.size()


def test_a_checkpoint_signed_by_another_key_is_refused_in_one_line(registry, tmp_path):
    populate(registry, credentials=1)
    log = registry.queries.log
    export = tmp_path / "e.jsonl"
    export.write_bytes(b"".join(x + b"\n" for x in exported(registry)))
    (tmp_path / "cp").write_text(log.latest().note)
    other = note.Verifier.of("badges.test/log", bytes(range(32))).vkey
    done = cli({}, "audit", "--export", str(export), "--checkpoint", str(tmp_path / "cp"), "--key", other, ok=False)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
    assert "no signature by badges.test/log" in done.stderr


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_concurrent_writers_on_postgresql_leave_a_gapless_identically_ordered_tree(registry, open_registry):
    badge = define_badge(registry)
    writers = [open_registry() for _ in range(4)]
    errors: list[BaseException] = []

    def write(r):
        try:
            for j in range(5):
                r.commands.credentials.issue(Award(f"did:example:learner-{id(r)}-{j}", badge), actor=OPERATOR)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(r,)) for r in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    log = registry.queries.log
    size = log.reader.size()
    leaves = log.reader.leaf_hashes(0, size)
    assert [leaf for leaf, _, _ in leaves] == list(range(size))
    positions = [p for _, p, _ in leaves]
    assert positions == sorted(positions)
    events = log.reader.events(0, 10**12)
    assert [e.position for e in events] == positions  # every event is a leaf, in notification order
    log.sign()
    assert log.verify_all().size == size


def test_the_log_over_http_answers_as_the_cli_does_and_refuses_bad_requests_as_problems(registry):
    from litestar.testing import TestClient

    from registry.api.app import create_app

    credential = populate(registry)[0]
    log = registry.queries.log
    size = log.latest().size
    with TestClient(create_app(registry)) as client:
        assert client.get("/log/key").json() == {"key": log.key().vkey, "origin": "badges.test/log"}
        assert client.get("/log/status").json()["size"] == size
        proof = client.get("/log/proof/consistency", params={"from": 2}).json()
        old, new, hashes = log.consistency(2)
        assert proof == {"from": 2, "to": size, "hashes": [base64.b64encode(h).decode() for h in hashes]}
        receipt = client.get(f"/credentials/{credential}/receipt").json()
        assert verify_receipt(json.dumps(receipt), log.key().vkey)["size"] == receipt["size"]
        assert client.get(f"/log/tile/0/000.p/{size}").content == log.tile("0", 0, size)
        for path, status in ((f"/log/tile/0/000.p/{size + 1}", 404), ("/log/tile/0/5", 400),
                             ("/log/tile/0/000.p/256", 400), ("/log/tile/64/000", 400),
                             ("/log/proof/inclusion?index=999", 404), ("/log/proof/inclusion?index=-1", 400),
                             ("/credentials/not-an-id/receipt", 400)):
            answer = client.get(path)
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json"), path
    truncated = {**receipt, "hashes": receipt["hashes"][:-1]}
    with pytest.raises(ReceiptError, match="fewer than"):
        verify_receipt(json.dumps(truncated), log.key().vkey)


def test_a_history_rewritten_and_re_signed_with_the_log_key_is_named_by_the_next_audit(registry, tmp_path):
    """Even the operator, holding the log's key, cannot rewrite history past an auditor who kept state."""
    populate(registry)
    log = registry.queries.log
    vkey, lines = log.key().vkey, exported(registry)
    state, first, checkpoint = tmp_path / "state", tmp_path / "first.jsonl", tmp_path / "cp"
    first.write_bytes(b"".join(x + b"\n" for x in lines))
    checkpoint.write_text(log.latest().note)
    cli({}, "audit", "--export", str(first), "--checkpoint", str(checkpoint), "--key", vkey, "--state", str(state))
    # The operator changes entry 3, appends one more, and signs the new tree with the log's own key.
    forged = list(lines)
    forged[3] = forged[3].replace(b'"actor":"test"', b'"actor":"someone"')
    assert forged[3] != lines[3]
    forged.append(lines[-1])
    size, root = tree.root_of_leaves(tree.leaf_hash(x) for x in forged)
    body = Checkpoint(signed_checkpoint(registry).origin, size, root, signed_checkpoint(registry).time)
    public = log.reader.state()["public_key"]
    from registry.vc.multikey import decode_public_key
    signer = log.checkpointer.custody.signer(public, "forger")
    (tmp_path / "forged.jsonl").write_bytes(b"".join(x + b"\n" for x in forged))
    checkpoint.write_text(note.sign(body.text, body.origin, decode_public_key(public), signer.sign))
    done = cli({}, "audit", "--export", str(tmp_path / "forged.jsonl"), "--checkpoint", str(checkpoint), "--key", vkey,
               "--state", str(state), ok=False)
    assert done.returncode == 1 and done.stderr.startswith("registry audit: leaf 3: the entry differs"), done.stderr
