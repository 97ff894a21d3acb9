"""Event-store adapters: settings, msgspec encoding, append-only guard, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, MapperDeserialisationError, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.store.append_only import (
    REFUSAL,
    AppendOnlyError,
    enforce_append_only,
    grant_application_role,
)
from registry.store.encoding import EventSchemaError, MsgspecMapper, PassThroughTranscoder
from registry.store.settings import (
    StoreSettings,
    StoreSettingsError,
    describe,
    eventsourcing_env,
)

SIGNED = '{"@context":["https://www.w3.org/ns/credentials/v2"],"name":"Zoë \\"Ω\\"","n":1.50}'


class Endorsement(Aggregate):
    class Recorded(Aggregate.Created):
        title: str
        subject: UUID
        issued_at: datetime
        tags: tuple[str, ...]
        alignment: dict[str, str]
        weight: int
        public: bool
        note: str | None
        document: str
        evidence: list[str]

    def __init__(self, title: str, subject: UUID, issued_at: datetime, tags: tuple[str, ...],
                 alignment: dict[str, str], weight: int, public: bool, note: str | None,
                 document: str, evidence: list[str]) -> None:
        self.title = title
        self.tags = tags
        self.note = note

    @event("Amended")
    def amend(self, note: str | None, tags: tuple[str, ...]) -> None:
        self.note = note
        self.tags = tags


class Ledger(Application):
    """A stand-in for Registry (PostgreSQL table ledger_events)."""


def record(**overrides: object) -> Endorsement:
    fields: dict[str, object] = dict(
        title="Peer review", subject=uuid4(),
        issued_at=datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc),
        tags=("a", "b"), alignment={"framework": "ESCO", "code": "S1.2"}, weight=3, public=True,
        note=None, document=SIGNED, evidence=["https://example.org/e/1"],
    )
    fields.update(overrides)
    return Endorsement(**fields)  # type: ignore[arg-type]


@pytest.fixture
def ledger(store_env: dict[str, str]):
    app = Ledger(env=store_env)
    yield app
    app.close()


def count_events(raw_db) -> int:
    table = "stored_events" if raw_db.kind == "sqlite" else "ledger_events"
    return raw_db.execute(f"SELECT count(*) FROM {table}")[0][0]


# --- settings --------------------------------------------------------------------------------------


def test_sqlite_is_the_default_and_lives_in_registry_home(tmp_path: Path) -> None:
    settings_ = StoreSettings.from_environ({"REGISTRY_HOME": str(tmp_path / "h")})
    env = eventsourcing_env(settings_)
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "h" / "registry.sqlite")
    assert (tmp_path / "h").is_dir()
    assert env["MAPPER_TOPIC"] == "registry.store.encoding:MsgspecMapper"
    assert env["CREATE_TABLE"] == "y"
    assert describe(settings_) == f"SQLite file {tmp_path / 'h' / 'registry.sqlite'}"
    assert StoreSettings.from_environ({}).home == Path("data").resolve()


@pytest.mark.parametrize("query, schema", [("", ""), ("?schema=badges", "badges"),
                                           ("?options=-c%20search_path%3Dbadges", "badges")])
def test_postgres_url_is_parsed(query: str, schema: str) -> None:
    settings_ = StoreSettings.from_environ({
        "REGISTRY_DATABASE_URL": f"postgres://reg%40app:p%3Ass@db.example:6543/registry{query}",
        "REGISTRY_CREATE_TABLES": "false",
    })
    env = eventsourcing_env(settings_)
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("reg@app", "p:ss")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.example", "6543")
    assert env["POSTGRES_DBNAME"] == "registry"
    assert env.get("POSTGRES_SCHEMA", "") == schema
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert env["CREATE_TABLE"] == "n"
    assert "p:ss" not in describe(settings_) and "p:ss" not in repr(settings_)
    assert describe(settings_) == (
        f"PostgreSQL reg@app@db.example:6543/registry schema {schema or 'public'}"
    )


@pytest.mark.parametrize("url, message", [
    ("mysql://u:secret@h/db", "scheme must be"),
    ("postgresql://u:secret@/db", "has no host"),
    ("postgresql://u:secret@h:5432/", "needs one database name"),
    ("postgresql://u:secret@h/db?sslmode=require", "unsupported parameter(s) sslmode"),
])
def test_bad_database_urls_are_refused_without_showing_the_password(url: str, message: str) -> None:
    with pytest.raises(StoreSettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) \
            as caught:
        StoreSettings.from_environ({"REGISTRY_DATABASE_URL": url})
    assert "secret" not in str(caught.value)


# --- encoding --------------------------------------------------------------------------------------


def test_events_come_back_with_exact_types(ledger: Ledger) -> None:
    endorsement = record(note="first")
    endorsement.amend(note=None, tags=("c",))
    originals = [vars(r.domain_event) for r in ledger.save(endorsement)]
    stored_ = [vars(e) for e in ledger.events.get(endorsement.id)]
    assert stored_ == originals
    for before, after in zip(originals, stored_, strict=True):
        assert {k: type(v) for k, v in after.items()} == {k: type(v) for k, v in before.items()}
    assert stored_[0]["issued_at"].tzinfo == timezone.utc
    assert stored_[0]["document"] == SIGNED
    assert ledger.repository.get(endorsement.id).tags == ("c",)


def test_stored_state_is_plain_readable_json(ledger: Ledger) -> None:
    endorsement = record()
    ledger.save(endorsement)
    notification = ledger.recorder.select_notifications(start=1, limit=1)[0]
    assert notification.topic == "test_store:Endorsement.Recorded"
    state = json.loads(notification.state)
    assert "originator_id" not in state and "originator_version" not in state
    assert state["subject"] == str(endorsement_subject(ledger, endorsement.id))
    assert state["tags"] == ["a", "b"] and state["alignment"]["framework"] == "ESCO"
    assert datetime.fromisoformat(state["timestamp"].replace("Z", "+00:00")).tzinfo is not None
    assert json.loads(state["document"]) == json.loads(SIGNED)


def endorsement_subject(app: Ledger, originator_id: UUID) -> UUID:
    return next(iter(app.events.get(originator_id))).subject


def test_not_found_and_duplicate_ids_raise_the_library_errors(ledger: Ledger) -> None:
    with pytest.raises(AggregateNotFoundError):
        ledger.repository.get(uuid4())
    first = record()
    ledger.save(first)
    twin = Endorsement._create(Endorsement.Recorded, id=first.id, **{
        name: getattr(first, name, None) for name in ("title", "tags", "note")},
        subject=uuid4(), issued_at=datetime.now(timezone.utc), alignment={}, weight=0,
        public=False, document="{}", evidence=[])
    with pytest.raises(IntegrityError):
        ledger.save(twin)
    stale = ledger.repository.get(first.id)
    first.amend(note="one", tags=())
    stale.amend(note="two", tags=())
    ledger.save(first)
    with pytest.raises(IntegrityError):
        ledger.save(stale)


mapper = MsgspecMapper(transcoder=PassThroughTranscoder())
safe_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
aware_datetimes = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
    timezones=st.builds(timezone, st.integers(-14 * 60, 14 * 60).map(
        lambda minutes: timedelta(minutes=minutes))),
)


endorsement_fields = st.fixed_dictionaries({
    "title": safe_text, "subject": st.uuids(), "issued_at": aware_datetimes,
    "tags": st.lists(safe_text, max_size=5).map(tuple),
    "alignment": st.dictionaries(safe_text, safe_text, max_size=4),
    "weight": st.integers(-(2**63), 2**63 - 1), "public": st.booleans(),
    "note": st.none() | safe_text, "document": safe_text,
    "evidence": st.lists(safe_text, max_size=3),
})


@settings(max_examples=150, deadline=None)
@given(fields=endorsement_fields)
def test_mapper_round_trip_keeps_values_and_types(fields: dict[str, object]) -> None:
    endorsement = Endorsement(**fields)  # type: ignore[arg-type]
    endorsement.amend(note=fields["note"], tags=fields["tags"])  # type: ignore[arg-type]
    created, amended = endorsement.collect_events()
    for domain_event in (created, amended):
        restored = mapper.to_domain_event(mapper.to_stored_event(domain_event))
        assert type(restored) is type(domain_event)
        assert vars(restored) == vars(domain_event)
        for name, value in vars(domain_event).items():
            assert type(vars(restored)[name]) is type(value), name
    restored_created = mapper.to_domain_event(mapper.to_stored_event(created))
    assert restored_created.issued_at.utcoffset() == created.issued_at.utcoffset()


def stored(state: bytes, topic: str = "test_store:Endorsement.Amended") -> StoredEvent:
    return StoredEvent(originator_id=UUID(int=7), originator_version=2, topic=topic, state=state)


@pytest.mark.parametrize("state, reason", [
    (b'{"timestamp":"2025-01-01T00:00:00Z","note":null,"tags":[],"extra":1}', "unknown field"),
    (b'{"timestamp":"2025-01-01T00:00:00Z","note":null}', "missing required field `tags`"),
    (b'{"timestamp":"2025-01-01T00:00:00Z","note":5,"tags":[]}', "Expected `str | null`"),
    (b'{"timestamp":"yesterday","note":null,"tags":[]}', "Invalid RFC3339"),
    (b'{"timestamp":', "truncated"),
])
def test_bad_stored_state_names_topic_and_position(state: bytes, reason: str) -> None:
    with pytest.raises(MapperDeserialisationError) as caught:
        mapper.to_domain_event(stored(state))
    message = str(caught.value)
    assert "'test_store:Endorsement.Amended'" in message
    assert f"{UUID(int=7)}/2" in message
    assert reason in message


def test_unknown_topic_is_a_deserialisation_error() -> None:
    with pytest.raises(MapperDeserialisationError, match="'test_store:Nope.Gone' at"):
        mapper.to_domain_event(stored(b"{}", topic="test_store:Nope.Gone"))


class Versioned(Aggregate):
    class Noted(Aggregate.Event):
        class_version = 2
        text: str
        seen_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["seen_at"] = "2024-06-01T00:00:00+00:00"  # JSON-shaped, as states are read


def test_old_class_versions_are_upcast_then_typed() -> None:
    old = StoredEvent(originator_id=UUID(int=1), originator_version=2,
                      topic="test_store:Versioned.Noted",
                      state=b'{"timestamp":"2024-01-01T00:00:00Z","text":"hi"}')
    restored = mapper.to_domain_event(old)
    assert restored.seen_at == datetime(2024, 6, 1, tzinfo=timezone.utc)
    new = Versioned.Noted(originator_id=UUID(int=1), originator_version=3,
                          timestamp=datetime(2024, 1, 2, tzinfo=timezone.utc), text="x",
                          seen_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    record_ = mapper.to_stored_event(new)
    assert json.loads(record_.state)["class_version"] == 2
    assert vars(mapper.to_domain_event(record_)) == vars(new)


def test_snapshots_are_refused_at_save_time_rather_than_losing_types() -> None:
    snapshot = Endorsement.Snapshot.take(record())
    with pytest.raises(EventSchemaError, match="snapshots are not supported"):
        mapper.to_stored_event(snapshot)


# --- append-only -----------------------------------------------------------------------------------


def refused(raw_db, statement: str, *, user: str | None = None) -> str:
    with pytest.raises((sqlite3.DatabaseError, psycopg.Error)) as caught:
        raw_db.execute(statement, user=user)
    return str(caught.value)


def test_stored_events_refuse_update_delete_truncate(ledger: Ledger, raw_db) -> None:
    table = "stored_events" if raw_db.kind == "sqlite" else "ledger_events"
    ledger.save(record())
    enforce_append_only(ledger)
    enforce_append_only(ledger)  # idempotent
    ledger.save(record())
    before = count_events(raw_db)
    assert before == 2
    assert REFUSAL in refused(raw_db, f"UPDATE {table} SET topic = 'forged'")
    assert REFUSAL in refused(raw_db, f"DELETE FROM {table}")
    assert REFUSAL in refused(raw_db, f"DELETE FROM {table} WHERE originator_version = 1")
    if raw_db.kind == "postgres":
        assert REFUSAL in refused(raw_db, f"TRUNCATE {table}")
    assert count_events(raw_db) == before
    assert {row[0] for row in raw_db.execute(f"SELECT topic FROM {table}")} == {
        "test_store:Endorsement.Recorded"}
    appended = record()
    appended.amend(note="still appending", tags=())
    ledger.save(appended)
    assert count_events(raw_db) == before + 2
    assert ledger.repository.get(appended.id).note == "still appending"


@pytest.mark.parametrize("store_kind", ["postgres"])
def test_application_role_cannot_rewrite_even_with_triggers_disabled(
        store_env: dict[str, str], raw_db) -> None:
    raw_db.execute("CREATE ROLE ledger_app LOGIN")
    owner = Ledger(env=store_env)
    try:
        enforce_append_only(owner)
        grant_application_role(owner, "ledger_app")
        owner.save(record())
    finally:
        owner.close()
    service = Ledger(env={**store_env, "POSTGRES_USER": "ledger_app", "CREATE_TABLE": "n"})
    try:
        enforce_append_only(service)  # as a non-owner: verifies only
        appended = record()
        ledger_events = "ledger_events"
        service.save(appended)  # insert lock taken through the SECURITY DEFINER function
        assert service.repository.get(appended.id).title == "Peer review"
        raw_db.execute(f"ALTER TABLE {ledger_events} DISABLE TRIGGER USER")
        for statement in (f"UPDATE {ledger_events} SET topic = 'forged'",
                          f"DELETE FROM {ledger_events}", f"TRUNCATE {ledger_events}"):
            assert "permission denied" in refused(raw_db, statement, user="ledger_app")
        assert count_events(raw_db) == 2
        with pytest.raises(AppendOnlyError, match="run enforce_append_only once as the table owner"):
            enforce_append_only(service)
    finally:
        service.close()
    repaired = Ledger(env=store_env)
    try:
        enforce_append_only(repaired)  # the owner re-enables the triggers
        assert REFUSAL in refused(raw_db, f"DELETE FROM {ledger_events}")
    finally:
        repaired.close()


def test_missing_postgres_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import _postgres_unavailable

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: PostgreSQL tests must not be skipped"):
        _postgres_unavailable("no pg_ctl")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no pg_ctl"):
        _postgres_unavailable("no pg_ctl")


def test_the_database_url_may_come_from_a_secret_file_only_its_owner_reads(tmp_path: Path) -> None:
    secret = tmp_path / "app_database_url"
    secret.write_text("postgresql://registry_app:s3cret@db.example:5432/registry\n")
    secret.chmod(0o644)
    with pytest.raises(StoreSettingsError, match="may be read by others: chmod 600"):
        StoreSettings.from_environ({"REGISTRY_DATABASE_URL_FILE": str(secret)})
    secret.chmod(0o400)
    env = eventsourcing_env(StoreSettings.from_environ({"REGISTRY_DATABASE_URL_FILE": str(secret)}))
    assert (env["POSTGRES_HOST"], env["POSTGRES_PASSWORD"]) == ("db.example", "s3cret")
    with pytest.raises(StoreSettingsError, match="does not exist"):
        StoreSettings.from_environ({"REGISTRY_DATABASE_URL_FILE": str(tmp_path / "missing")})


@pytest.mark.empty_postgres
def test_a_registry_in_a_named_schema_opens_again(pg_database, tmp_path) -> None:
    """Each table's guard is looked for where it was made (the URL's schema): a second start finds
    them all instead of failing to create one twice (the images guard once looked in public)."""
    from registry.bootstrap import open_registry
    from registry.commands import Actor

    with pg_database.connect() as connection:
        connection.execute("CREATE SCHEMA badges")
    environ = {"REGISTRY_HOME": str(tmp_path / "home"), "REGISTRY_KEYS": str(tmp_path / "keys"),
               "REGISTRY_DATABASE_URL": f"{pg_database.dsn}?schema=badges"}
    for start in range(2):
        registry = open_registry(environ)
        registry.commands.issuers.register(slug=f"acme{start}", name="Acme", actor=Actor("test"))
        registry.close()
    with pg_database.connect() as connection:
        assert connection.execute("SELECT count(*) FROM badges.images").fetchone()[0] == 0
