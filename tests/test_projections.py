"""Projections on SQLite and PostgreSQL: every table equals a from-scratch rebuild whatever the batch
size, agrees with the aggregates, positions advance past notifications no projection wants, two
runners at once apply nothing twice, PostgreSQL workers follow NOTIFY, and the CLI shows positions
and lag, rebuilds and runs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from registry.cli import main
from registry.commands import Actor, Award
from registry.domain import Achievement, Credential, Endorsement, ImportedCredential, Issuer
from registry.domain.trust import TrustAnchors
from registry.errors import InputError
from registry.projections import PROJECTIONS, ReadModel, ReadStoreError
from registry.projections.projection import moment
from registry.store import Database, open_database

PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
ACTOR = "test"  # the actor name recorded by events written straight through the domain
OPERATOR = Actor(ACTOR)  # the registry's operator, for commands

TABLES = ("issuers", "achievements", "achievement_versions", "credential_status",
          "credential_status_changes", "status_lists", "endorsements", "issuer_keys", "trust_anchors",
          "kpi_credentials", "kpi_counts", "kpi_monthly", "kpi_requires", "kpi_earned", "kpi_endorsements",
          "kpi_kinds", "imported_credentials", "extension_contexts")


def read_model(registry, *, batch_size: int | None = None) -> ReadModel:
    """A read model of its own (its own connection) over the registry's store; close it after."""
    db = open_database(registry.settings.store)
    if batch_size is None:
        return ReadModel(registry.store, db)
    return ReadModel(registry.store, db, batch_size=batch_size)


# --- a log of many events, written through the domain (no signing: fast) ---------------------------


def synthetic_log(store, credentials: int = 600, seed: int = 7) -> dict:
    """Issuers, keys, achievements, credentials (with status-list entries), suspensions,
    reinstatements, revocations, endorsements and withdrawals, rotations, a compromise, a profile
    update, trust anchors added, removed and added again, and a deactivation, interleaved in many
    transactions saved to the event store. Returns what was made."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    issuers = []
    for n in range(4):
        issuer = Issuer.register(slug=f"org{n}", name=f"Org {n}", did=f"did:web:badges.test:issuers:org{n}",
                                 hosted=True, actor=ACTOR)
        issuer.add_key(public_key_multibase=f"zKey{n}x0", actor=ACTOR)
        issuers.append(issuer)
    achievements = [Achievement.define(id=uuid4(), issuer_id=i.id, name=f"Badge {n}", document="{}", actor=ACTOR)
                    for n, i in enumerate(issuers * 2)]
    anchors = TrustAnchors.start(actor=ACTOR)
    store.save(*issuers, *achievements, anchors)
    made, endorsements, changes = [], [], 0
    for round_ in range(credentials // 50):
        fresh = []
        for _ in range(50):
            achievement = rng.choice([a for a in achievements if a.retired_at is None])
            issuer = next(i for i in issuers if i.id == achievement.issuer_id)
            if issuer.deactivated_at is not None:
                continue
            valid_until = rng.choice([None, now + timedelta(days=1), now + timedelta(seconds=1)])
            fresh.append(Credential.issue(
                id=uuid4(), issuer=issuer, achievement=achievement, recipient=f"did:example:{uuid4().hex}",
                document="{}", verification_method=issuer.active_key.verification_method, valid_from=now,
                valid_until=valid_until, actor=ACTOR, status_list=f"{PUBLIC_URL}/status-lists/{issuer.slug}/1",
                status_list_index=len(made) + len(fresh)))
        changed = []
        for credential in rng.sample(made, min(len(made), 12)):
            move = rng.choice(["suspend", "reinstate", "revoke"])
            if move == "suspend" and credential.status == "active":
                credential.suspend(reason=f"check {round_}", actor=ACTOR)
            elif move == "reinstate" and credential.status == "suspended":
                credential.reinstate(reason=f"cleared {round_}", actor=ACTOR)
            elif move == "revoke" and credential.status != "revoked":
                credential.revoke(reason=f"fraud {round_}", actor=ACTOR)
            else:
                continue
            changes += 1
            changed.append(credential)
        others = []
        if round_ % 3 == 1:
            endorser, subject = rng.sample([i for i in issuers if i.deactivated_at is None], 2)
            kind, target = rng.choice([("issuer", subject.id), ("achievement", rng.choice(achievements).id),
                                       ("credential", rng.choice(made).id if made else subject.id)])
            if kind == "credential" and not made:
                kind = "issuer"
            endorsement = Endorsement.give(
                id=uuid4(), endorser=endorser, subject_kind=kind, subject_id=target, subject_iri=f"urn:x:{target}",
                comment=f"good {round_}", document="{}", verification_method=endorser.active_key.verification_method,
                custodial=True, actor=ACTOR)
            endorsements.append(endorsement)
            others.append(endorsement)
        if round_ % 4 == 3 and endorsements and endorsements[0].withdrawn_at is None:
            endorsements[0].withdraw(reason="changed our mind", actor=ACTOR)
            others.append(endorsements[0])
        if round_ % 5 == 2:
            issuer = rng.choice([i for i in issuers if i.deactivated_at is None])
            issuer.rotate_key(public_key_multibase=f"zKey{issuer.slug}x{round_}", actor=ACTOR)
            others.append(issuer)
        if round_ == 2:
            anchors.add(issuers[0], actor=ACTOR)
            anchors.add(issuers[2], actor=ACTOR)
            others.append(anchors)
        if round_ == 4:
            issuers[0].update_profile(actor=ACTOR, name="Org 0, renamed", url="https://org0.example")
            anchors.remove(issuers[2], reason="lapsed", actor=ACTOR)
            others += [issuers[0], anchors]
        if round_ == 6:
            issuers[1].report_compromise(verification_method=issuers[1].keys[0].verification_method,
                                         since=now - timedelta(days=2), actor=ACTOR)
            achievements[2].revise(name="Badge 2, revised", document="{}", requires=(), actor=ACTOR)
            anchors.add(issuers[2], actor=ACTOR)  # an anchor again: a second interval
            others += [issuers[1], achievements[2], anchors]
        if round_ in (3, 7):  # credentials brought in from elsewhere, one of them not verified
            others.append(ImportedCredential.record(
                credential_id=f"https://elsewhere.example/credentials/{round_}", format="ob3-json-ld", baked=None,
                source="file.json", original="{}", issuer=issuers[round_ % 4].did, issuer_id=issuers[round_ % 4].id,
                name=f"Imported {round_}", verdict="VALID" if round_ == 3 else "INDETERMINATE", checks="[]",
                unverified=round_ == 7, actor=ACTOR))
        if round_ == 9:
            issuers[3].deactivate(reason="closed", actor=ACTOR)
            achievements[0].retire(reason="replaced", actor=ACTOR)
            others += [issuers[3], achievements[0]]
        store.save(*fresh, *changed, *others)
        made += fresh
    return {"credentials": made, "endorsements": endorsements, "issuers": issuers, "changes": changes,
            "achievements": achievements, "anchors": anchors}


def columns(db: Database, table: str) -> list[str]:
    if db.kind == "postgres":
        return [name for (name,) in db.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ? ORDER BY ordinal_position", (table,))]
    return [row[1] for row in db.query(f"PRAGMA table_info({table})")]


def snapshot(model: ReadModel) -> dict[str, list[tuple]]:
    """Every row of every projection table, in a stable order (all columns decide it)."""
    tables = [table for projection in PROJECTIONS for table in projection.tables]
    assert sorted(tables) == sorted(TABLES)  # a new table must be compared too
    return {table: sorted(model.db.query(f"SELECT * FROM {table}"), key=repr) for table in tables}


def named(model: ReadModel, tables: dict[str, list[tuple]], table: str) -> list[dict]:
    """The snapshot's rows of one table as {column: value}."""
    names = columns(model.db, table)
    return [dict(zip(names, row, strict=True)) for row in tables[table]]


def positions_row(model: ReadModel) -> dict[str, int]:
    return dict(model.db.query("SELECT name, position FROM projection_positions"))


# --- the tables --------------------------------------------------------------------------------------


def test_any_batch_size_gives_the_tables_of_a_rebuild_and_agrees_with_the_aggregates(registry):
    made = synthetic_log(registry.store, credentials=600)
    latest = registry.store.max_position()
    small = read_model(registry, batch_size=7)
    assert small.runner.catch_up() == {p.name: latest for p in PROJECTIONS}
    tables = snapshot(small)
    own = registry.queries.read_model
    assert own.runner.rebuild() == {p.name: latest for p in PROJECTIONS}
    assert snapshot(own) == tables

    rows = {row["credential_id"]: row for row in named(small, tables, "credential_status")}
    assert len(rows) == len(made["credentials"])
    for credential in made["credentials"]:
        stored = registry.store.find(credential.id)  # the aggregate, replayed from its events
        row = rows[str(credential.id)]
        assert (row["status"], row["reason"]) == (stored.status, stored.reason)
        assert (row["status_list"], row["status_list_index"]) == (credential.status_list,
                                                                   credential.status_list_index)
    assert len(tables["credential_status_changes"]) == made["changes"] > 20
    assert sorted(named(small, tables, "status_lists"), key=repr) == sorted(
        ({"url": url, "issuer_id": issuer} for url, issuer in
         {(c.status_list, str(c.issuer_id)) for c in made["credentials"]}), key=repr)
    endorsements = named(small, tables, "endorsements")
    assert len(endorsements) == len(made["endorsements"]) > 2
    assert [(e["withdrawn_at"] is not None, e["withdrawn_reason"]) for e in endorsements
            if e["withdrawn_at"] is not None] == [(True, "changed our mind")]  # one withdrawal
    issuers = {row["slug"]: row for row in named(small, tables, "issuers")}
    assert issuers["org3"]["deactivated_at"] is not None and issuers["org0"]["deactivated_at"] is None
    assert issuers["org3"]["deactivation_reason"] == "closed"
    assert (issuers["org0"]["name"], issuers["org0"]["url"]) == ("Org 0, renamed", "https://org0.example")
    assert (issuers["org1"]["name"], issuers["org1"]["url"]) == ("Org 1", None)
    achievements = {row["id"]: row for row in named(small, tables, "achievements")}
    for achievement in made["achievements"]:
        stored = registry.store.find(achievement.id)
        row = achievements[str(achievement.id)]
        assert (row["name"], row["version"], row["retired_reason"]) == (
            stored.name, stored.current_version, stored.retired_reason)
    assert len(tables["achievement_versions"]) == sum(
        registry.store.find(a.id).current_version for a in made["achievements"]) == 9
    keys = named(small, tables, "issuer_keys")
    assert len(keys) == sum(len(i.keys) for i in made["issuers"])
    assert all(k["retired_at"] is not None for k in keys
               if k["issuer_id"] == str(made["issuers"][3].id))  # all retired
    assert [k["compromised_since"] for k in keys if k["compromised_since"] is not None] == [
        moment(made["issuers"][1].keys[0].compromised_since)]
    anchors = registry.store.find(made["anchors"].id)
    intervals = sorted(((row["slug"], row["added_at"], row["removed_at"], row["removed_reason"])
                        for row in named(small, tables, "trust_anchors")), key=repr)
    assert intervals == sorted(((i.slug, moment(i.added_at), None if i.removed_at is None else moment(i.removed_at),
                                 i.removed_reason) for i in anchors.intervals), key=repr)
    assert sorted(((slug, reason) for slug, _, _, reason in intervals), key=repr) == [
        ("org0", None), ("org2", "lapsed"), ("org2", None)]
    small.close()


def test_subject_issuer_is_the_organisation_the_subject_belongs_to(registry):
    made = synthetic_log(registry.store, credentials=600)
    credentials = {c.id: c.issuer_id for c in made["credentials"]}
    model = registry.queries.read_model
    model.fresh()
    for endorsement in made["endorsements"]:
        (row,) = model.db.query(
            "SELECT subject_kind, subject_issuer_id FROM endorsements WHERE id = ?", (str(endorsement.id),))
        expected = {"issuer": endorsement.subject_id,
                    "achievement": getattr(registry.store.find(endorsement.subject_id), "issuer_id", None),
                    "credential": credentials.get(endorsement.subject_id)}[row[0]]
        assert row[1] == str(expected)


def test_positions_advance_past_notifications_no_projection_reads(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    achievement = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "X", "description": "d", "criteria": {"narrative": "n"}}).id
    # Ends with the StatusListSlot and Recipient events, which no projection reads.
    registry.commands.credentials.issue(Award(LEARNER_DID, achievement), actor=OPERATOR)
    latest = registry.store.max_position()
    model = registry.queries.read_model
    assert model.runner.catch_up() == {p.name: latest for p in PROJECTIONS}
    assert positions_row(model) == {p.name: latest for p in PROJECTIONS}
    assert all(s.lag == 0 for s in registry.queries.projection_status())
    # A stop before the last notification is honoured, and never passes what is logged.
    other = read_model(registry, batch_size=2)
    other.runner.rebuild("directory")  # replays to the end
    assert other.runner.catch_up(until_position=latest + 100) == {p.name: latest for p in PROJECTIONS}
    assert other.runner.rebuild("issuer_keys") == {"issuer_keys": latest}
    assert positions_row(other) == {p.name: latest for p in PROJECTIONS}
    other.close()


def test_rebuild_of_one_projection_leaves_the_others_alone(registry):
    synthetic_log(registry.store, credentials=100)
    model = registry.queries.read_model
    model.runner.catch_up()
    before = snapshot(model)
    with model.db.transaction() as cursor:  # damage two read models
        cursor.execute("DELETE FROM issuer_keys")
        cursor.execute("UPDATE credential_status SET status = 'mangled'")
    assert model.runner.rebuild("issuer_keys")["issuer_keys"] == registry.store.max_position()
    after = snapshot(model)
    assert after["issuer_keys"] == before["issuer_keys"]
    status = columns(model.db, "credential_status").index("status")
    assert {row[status] for row in after["credential_status"]} == {"mangled"}
    with pytest.raises(InputError, match="no projection 'nope': one of directory, credentials"):
        model.runner.rebuild("nope")


def test_two_runners_at_once_apply_each_event_once(registry, open_registry):
    synthetic_log(registry.store, credentials=600)
    other = open_registry()  # a second process on the same store
    runners = [read_model(registry, batch_size=5), read_model(other, batch_size=3)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(model: ReadModel) -> None:
        try:
            start.wait()
            model.runner.catch_up()
        except BaseException as exc:  # a double apply would hit a primary key
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    latest = registry.store.max_position()
    assert positions_row(runners[1]) == {p.name: latest for p in PROJECTIONS}
    tables = snapshot(runners[0])
    runners[0].runner.rebuild()
    assert snapshot(runners[0]) == tables
    for model in runners:
        model.close()


def test_tables_are_created_once_and_kept(registry, open_registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    registry.queries.fresh()
    caught_up = registry.queries.projection_status()
    assert all(s.position > 0 and s.lag == 0 for s in caught_up)
    again = open_registry()  # a second process start: CREATE ... IF NOT EXISTS, same versions
    assert again.queries.projection_status() == caught_up
    assert again.init() == []  # nothing of another version: nothing rebuilt
    assert again.queries.projection_status() == caught_up
    assert again.queries.keys("acme")[0].state == "active"


def test_no_read_model_without_its_tables(registry, open_registry, raw_db):
    """A registry that may not create tables (an application role) refuses to start over read
    models that are missing or of another version, and says what the owner must run."""
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    raw_db.execute("UPDATE projection_positions SET version = version + 1 WHERE name = 'directory'")
    with pytest.raises(ReadStoreError, match=r"read models of another version: directory \(stored \d+, "
                                             r"needed \d+\); run `registry init`"):
        open_registry(REGISTRY_CREATE_TABLES="false")
    raw_db.execute("DROP TABLE projection_positions")
    with pytest.raises(ReadStoreError, match="the read-model tables are missing .* run `registry init`"):
        open_registry(REGISTRY_CREATE_TABLES="false")


# --- PostgreSQL: a worker follows NOTIFY, queries wait for it or catch up ----------------------------


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_worker_follows_new_events_through_notify(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    worker = read_model(registry)
    stopping = threading.Event()
    rounds: list[dict[str, int]] = []
    thread = threading.Thread(target=worker.runner.follow, args=(stopping,),
                              kwargs={"poll_seconds": 60, "caught_up": rounds.append})
    thread.start()
    try:
        wait_for(lambda: len(rounds) == 1)
        written = registry.commands.issuers.rotate_key("acme", actor=OPERATOR).position
        # Only a notification can wake it this soon: it polls once a minute.
        wait_for(lambda: rounds[-1]["issuer_keys"] >= written, seconds=5)
        assert len(rounds) >= 2
    finally:
        stopping.set()
        thread.join(5)
    assert not thread.is_alive()
    worker.close()


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_queries_read_their_writes_while_a_worker_runs(registry, open_registry):
    worker_registry = open_registry()
    worker = read_model(worker_registry, batch_size=1)
    stopping = threading.Event()
    thread = threading.Thread(target=worker.runner.follow, args=(stopping,), kwargs={"poll_seconds": 0.05})
    thread.start()
    try:
        registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
        achievement = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
            "name": "X", "description": "d", "criteria": {"narrative": "n"}}).id
        for _ in range(5):
            credential = registry.commands.credentials.issue(Award(LEARNER_DID, achievement), actor=OPERATOR).id
            assert registry.queries.credential_status(credential).status == "active"
            registry.commands.credentials.revoke(credential, reason="test", actor=OPERATOR)
            assert registry.queries.credential_status(credential).status == "revoked"
    finally:
        stopping.set()
        thread.join(5)
    assert not thread.is_alive()
    worker.close()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds} s")
        time.sleep(0.01)


# --- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def environment(registry_environ, tmp_path, monkeypatch) -> dict[str, str]:
    """The process environment the CLI reads: the same store and keystore as the fixtures'."""
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    for key in ("REGISTRY_KEYSTORE_PASSPHRASE", "REGISTRY_CREATE_TABLES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in registry_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return dict(registry_environ)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_status_shows_position_and_lag_then_run_and_rebuild(environment, capsys):
    assert cli(capsys, "issuer", "register", "--slug", "acme", "--name", "Acme")[0] == 0
    assert cli(capsys, "keys", "rotate", "acme")[0] == 0
    code, out, _ = cli(capsys, "projections", "status", "--json")
    assert code == 0
    status = json.loads(out)
    latest = status[0]["position"] + status[0]["lag"]
    assert latest >= 4 and [s["name"] for s in status] == [p.name for p in PROJECTIONS]
    assert all(s["position"] == 0 and s["lag"] == latest for s in status)  # nothing ran yet
    code, out, _ = cli(capsys, "projections", "run", "--once", "--batch-size", "2", "--json")
    assert (code, json.loads(out)) == (0, {p.name: latest for p in PROJECTIONS})
    code, out, _ = cli(capsys, "projections", "status")
    assert out.splitlines()[1] == f"credentials\tposition {latest}\tlag 0"
    code, out, _ = cli(capsys, "projections", "rebuild", "issuer_keys", "--json")
    assert (code, json.loads(out)) == (0, {"issuer_keys": latest})
    code, _, err = cli(capsys, "projections", "rebuild", "nope")
    assert code == 2 and "invalid choice: 'nope'" in err
    code, _, err = cli(capsys, "projections", "run", "--batch-size", "0")
    assert code == 2 and err.startswith("registry")


def test_cli_run_follows_until_sigterm(environment, open_registry):
    env = {**os.environ, **environment}

    def registry_cli(*argv: str) -> None:
        done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

    registry_cli("issuer", "register", "--slug", "acme", "--name", "Acme")
    worker = subprocess.Popen([sys.executable, "-m", "registry.cli", "projections", "run", "--poll", "0.1",
                               "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        registry_cli("keys", "rotate", "acme")  # while the worker runs
        probe = open_registry()
        model = probe.queries.read_model  # read only through positions_row: never catches up itself
        latest = probe.store.max_position()
        try:
            wait_for(lambda: min(positions_row(model).values()) >= latest, seconds=20)
        except AssertionError:
            worker.kill()
            raise AssertionError(f"positions {positions_row(model)} never reached {latest}; the worker said: "
                                 f"{worker.communicate(timeout=10)[1][-3000:]}") from None
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert json.loads(out) == {p.name: latest for p in PROJECTIONS}
