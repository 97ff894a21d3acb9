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
from pathlib import Path
from uuid import uuid4

import pytest

from registry.application import Award, Config, Registry
from registry.application.reading import ReadingUseCases
from registry.bootstrap import open_registry
from registry.cli import main
from registry.domain import Achievement, Credential, Endorsement, Issuer
from registry.keystore import Keystore
from registry.projections import PROJECTIONS, ReadModel, ReadStoreError, moment
from registry.store.append_only import enforce_append_only

PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
ACTOR = "test"

# The Registry with the read side, whether or not the lead has composed ReadingUseCases into it yet.
ReadingRegistry = (Registry if issubclass(Registry, ReadingUseCases)
                   else type("Registry", (ReadingUseCases, Registry), {}))


def new_registry(store_env: dict[str, str], tmp_path: Path) -> Registry:
    registry = ReadingRegistry(config=Config(public_url=PUBLIC_URL, keys_dir=tmp_path / "keys"),
                               keystore=Keystore(tmp_path / "keys"), env=store_env)
    enforce_append_only(registry)
    return registry


@pytest.fixture
def app(store_env, tmp_path):
    registry = new_registry(store_env, tmp_path)
    yield registry
    registry.close()


# --- a log of many events, written through the domain (no signing: fast) ---------------------------


def synthetic_log(app, credentials: int = 600, seed: int = 7) -> dict:
    """Issuers, keys, achievements, credentials (with status-list entries), suspensions,
    reinstatements, revocations, endorsements and withdrawals, rotations, a compromise and a
    deactivation, interleaved in many transactions. Returns what was made."""
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
    app.save(*issuers, *achievements)
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
        if round_ == 6:
            issuers[1].report_compromise(verification_method=issuers[1].keys[0].verification_method,
                                         since=now - timedelta(days=2), actor=ACTOR)
            achievements[2].revise(name="Badge 2, revised", document="{}", requires=(), actor=ACTOR)
            others += [issuers[1], achievements[2]]
        if round_ == 9:
            issuers[3].deactivate(reason="closed", actor=ACTOR)
            achievements[0].retire(reason="replaced", actor=ACTOR)
            others += [issuers[3], achievements[0]]
        app.save(*fresh, *changed, *others)
        made += fresh
    return {"credentials": made, "endorsements": endorsements, "issuers": issuers, "changes": changes}


def snapshot(model: ReadModel) -> dict[str, list[tuple]]:
    """Every row of every projection table, in a stable order."""
    tables = [table for projection in PROJECTIONS for table in projection.tables]
    return {table: model.store.query(f"SELECT * FROM {table} ORDER BY 1, 2") for table in tables}


def positions_row(model: ReadModel) -> dict[str, int]:
    return dict(model.store.query("SELECT name, position FROM projection_positions"))


# --- the tables --------------------------------------------------------------------------------------


def test_any_batch_size_gives_the_tables_of_a_rebuild_and_agrees_with_the_aggregates(app):
    made = synthetic_log(app, credentials=600)
    latest = app.max_position()
    small = ReadModel(app, batch_size=7)
    assert small.catch_up() == {p.name: latest for p in PROJECTIONS}
    tables = snapshot(small)
    assert app.rebuild_projection() == {p.name: latest for p in PROJECTIONS}
    assert snapshot(app.read_model) == tables
    small.close()

    rows = {row[0]: row for row in tables["credential_status"]}
    assert len(rows) == len(made["credentials"])
    for credential in made["credentials"]:
        stored = app.credential(credential.id)
        row = rows[str(credential.id)]
        assert (row[8], row[9]) == (stored.status, stored.reason)
        assert (row[11], row[12]) == (credential.status_list, credential.status_list_index)
    assert len(tables["credential_status_changes"]) == made["changes"] > 20
    assert len(tables["endorsements"]) == len(made["endorsements"]) > 2
    assert sum(1 for e in tables["endorsements"] if e[9] is not None) == 1  # one withdrawal
    issuers = {row[1]: row for row in tables["issuers"]}
    assert issuers["org3"][6] is not None and issuers["org0"][6] is None  # deactivated_at
    keys = tables["issuer_keys"]
    assert len(keys) == sum(len(i.keys) for i in made["issuers"])
    assert all(k[4] is not None for k in keys if k[0] == str(made["issuers"][3].id))  # all retired
    assert [k[5] for k in keys if k[5] is not None] == [
        moment(made["issuers"][1].keys[0].compromised_since)]


def test_subject_issuer_is_the_organisation_the_subject_belongs_to(app):
    made = synthetic_log(app, credentials=600)
    credentials = {c.id: c.issuer_id for c in made["credentials"]}
    app.read_model.fresh()
    for endorsement in made["endorsements"]:
        (row,) = app.read_model.store.query(
            "SELECT subject_kind, subject_issuer_id FROM endorsements WHERE id = ?", (str(endorsement.id),))
        expected = {"issuer": endorsement.subject_id,
                    "achievement": getattr(app.find(endorsement.subject_id), "issuer_id", None),
                    "credential": credentials.get(endorsement.subject_id)}[row[0]]
        assert row[1] == str(expected)


def test_positions_advance_past_notifications_no_projection_reads(app):
    app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
    achievement = app.define_achievement(issuer="acme", actor=ACTOR, definition={
        "name": "X", "description": "d", "criteria": {"narrative": "n"}}).id
    app.issue_credential(Award(LEARNER_DID, achievement), actor=ACTOR)  # ends with Recipient events
    latest = app.max_position()
    assert app.catch_up_projections() == {p.name: latest for p in PROJECTIONS}
    assert positions_row(app.read_model) == {p.name: latest for p in PROJECTIONS}
    assert all(s.lag == 0 for s in app.projection_status())
    # A stop before the last notification is honoured, and never passes what is logged.
    model = ReadModel(app, batch_size=2)
    model.rebuild("directory")  # replays to the end
    assert model.runner.catch_up(until_position=latest + 100) == {p.name: latest for p in PROJECTIONS}
    model.close()


def test_rebuild_of_one_projection_leaves_the_others_alone(app):
    synthetic_log(app, credentials=100)
    model = app.read_model
    model.catch_up()
    before = snapshot(model)
    model.store.query("DELETE FROM issuer_keys")  # damage one read model
    model.store.query("UPDATE credential_status SET status = 'mangled'")
    assert model.rebuild("issuer_keys")["issuer_keys"] == app.max_position()
    after = snapshot(model)
    assert after["issuer_keys"] == before["issuer_keys"]
    assert {row[8] for row in after["credential_status"]} == {"mangled"}
    with pytest.raises(ValueError, match="no projection 'nope': one of directory, credentials"):
        model.rebuild("nope")


def test_two_runners_at_once_apply_each_event_once(app, store_env, tmp_path):
    synthetic_log(app, credentials=600)
    other = new_registry(store_env, tmp_path)
    runners = [ReadModel(app, batch_size=5), ReadModel(other, batch_size=3)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(model: ReadModel) -> None:
        try:
            start.wait()
            model.catch_up()
        except BaseException as exc:  # a double apply would hit a primary key
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    tables = snapshot(runners[0])
    runners[0].rebuild()
    assert snapshot(runners[0]) == tables
    for model in runners:
        model.close()
    other.close()


def test_tables_are_created_once_and_kept(app, store_env, tmp_path):
    app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
    app.read_model.fresh()
    again = new_registry(store_env, tmp_path)  # a second process start: CREATE ... IF NOT EXISTS
    assert again.read_model.status() == app.read_model.status()
    assert again.key_history("acme")[0].state == "active"
    again.close()


def test_no_read_model_on_an_in_memory_store(tmp_path):
    registry = ReadingRegistry(config=Config(public_url=PUBLIC_URL, keys_dir=tmp_path / "keys"),
                               keystore=Keystore(tmp_path / "keys"), env={})
    with pytest.raises(ReadStoreError, match="projections need the SQLite or PostgreSQL event store"):
        registry.credential_status(str(uuid4()))


# --- PostgreSQL: a worker follows NOTIFY, queries wait for it or catch up ----------------------------


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_worker_follows_new_events_through_notify(app):
    app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
    worker = ReadModel(app)
    stopping = threading.Event()
    rounds: list[dict[str, int]] = []
    thread = threading.Thread(target=worker.runner.follow, args=(stopping,),
                              kwargs={"poll_seconds": 60, "caught_up": rounds.append})
    thread.start()
    try:
        wait_for(lambda: len(rounds) == 1)
        written = app.rotate_key("acme", actor=ACTOR).position
        # Only a notification can wake it this soon: it polls once a minute.
        wait_for(lambda: rounds[-1]["issuer_keys"] >= written, seconds=5)
        assert len(rounds) >= 2
    finally:
        stopping.set()
        thread.join(5)
    assert not thread.is_alive()
    worker.close()


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_queries_read_their_writes_while_a_worker_runs(app, store_env, tmp_path):
    worker_app = new_registry(store_env, tmp_path)
    worker = ReadModel(worker_app, batch_size=1)
    stopping = threading.Event()
    thread = threading.Thread(target=worker.runner.follow, args=(stopping,), kwargs={"poll_seconds": 0.05})
    thread.start()
    try:
        app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
        achievement = app.define_achievement(issuer="acme", actor=ACTOR, definition={
            "name": "X", "description": "d", "criteria": {"narrative": "n"}}).id
        for _ in range(5):
            credential = app.issue_credential(Award(LEARNER_DID, achievement), actor=ACTOR).id
            assert app.credential_status(credential).status == "active"
            app.revoke_credential(credential, reason="test", actor=ACTOR)
            assert app.credential_status(credential).status == "revoked"
    finally:
        stopping.set()
        thread.join(5)
    worker.close()
    worker_app.close()


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds} s")
        time.sleep(0.01)


# --- the command line ----------------------------------------------------------------------------------


@pytest.fixture
def environment(store_settings, store_kind, request, tmp_path, monkeypatch) -> dict[str, str]:
    env = {"REGISTRY_HOME": str(store_settings.home), "REGISTRY_KEYS": str(tmp_path / "keys"),
           "REGISTRY_PUBLIC_URL": PUBLIC_URL}
    if store_kind == "postgres":
        env["REGISTRY_DATABASE_URL"] = request.getfixturevalue("pg_dsn")
    else:
        monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    for key in ("REGISTRY_KEYSTORE_PASSPHRASE", "REGISTRY_CREATE_TABLES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return env


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


def test_cli_run_follows_until_sigterm(environment):
    env = {**os.environ, **environment}

    def registry_cli(*argv: str) -> None:
        subprocess.run([sys.executable, "-m", "registry.cli", *argv], env=env, check=True, capture_output=True)

    registry_cli("issuer", "register", "--slug", "acme", "--name", "Acme")
    worker = subprocess.Popen([sys.executable, "-m", "registry.cli", "projections", "run", "--poll", "0.1",
                               "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        registry_cli("keys", "rotate", "acme")  # while the worker runs
        probe = open_registry(environment)
        model = ReadModel(probe)  # polls the positions; never catches up itself
        latest = probe.max_position()
        wait_for(lambda: min(positions_row(model).values()) >= latest, seconds=20)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert json.loads(out) == {p.name: latest for p in PROJECTIONS}
    model.close()
    probe.close()
