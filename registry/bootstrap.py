"""The composition root: read the settings, open the stores and key custody, and build exactly the
three things the edges (CLI, HTTP API, pages) use: `commands` (the write side), `queries` (the read
side) and `access` (API keys, idempotency, rate limits). Nothing else constructs them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from registry.access import TABLES as ACCESS_TABLES
from registry.access import Access
from registry.commands import Commands, StatusListSlots, utc_now
from registry.commands.achievements import AchievementCommands
from registry.commands.contexts import ContextCommands
from registry.commands.credentials import CredentialCommands
from registry.commands.custody import KeyCustody
from registry.commands.endorsements import EndorsementCommands
from registry.commands.images import ImageCommands
from registry.commands.imports import ImportCommands
from registry.commands.issuers import IssuerCommands
from registry.commands.records import Records
from registry.commands.status_lists import StatusListCommands
from registry.commands.trust import TrustCommands
from registry.errors import ConfigurationError
from registry.keystore import Keystore
from registry.metrics import CountedCustody
from registry.log.checkpoints import Checkpointer
from registry.log.service import TransparencyLog
from registry.log.storage import LogReader
from registry.images import TABLES as IMAGE_TABLES
from registry.store.slot_snapshots import TABLES as SLOT_SNAPSHOT_TABLES
from registry.store.slot_snapshots import SlotSnapshots
from registry.images import ImageStore
from registry.network import Fetcher, HttpCache
from registry.projections import Queries, ReadModel
from registry.projections.replica import ReplicatedQueries
from registry.settings import Settings
from registry.store import (
    EventStore,
    describe,
    enforce_append_only,
    eventsourcing_env,
    grant_application_role,
    grant_tables,
    open_database,
    require_owner,
)
from registry.vc import contexts


@dataclass
class Registry:
    commands: Commands
    queries: Queries
    access: Access
    settings: Settings
    store: EventStore  # for the root's own chores (init, close); edges use the three above
    closed: bool = False
    custody: object = None  # key custody the root opened and closes (an HSM session), if it has to
    slot_snapshots: object = None  # the status-list slot ledger's snapshots (their own connection)
    migrated: object = None  # what the last init's schema migration did (registry.store.migrations.Migrated)

    @property
    def description(self) -> str:
        """Where the data lives, safe to show (no password)."""
        return describe(self.settings.store)

    def init(self, app_role: str | None = None) -> list[str]:
        """Bring the database up to date as its owner: the schema migrations of the store's own
        tables (`alembic upgrade head`, registry.store.migrations; first, so the read models are
        prepared over tables of the current layout), the read models (those of an older layout are
        rebuilt) and, on PostgreSQL, an application role's rights. Returns the names of the read
        models that were rebuilt; `migrated` says what the migration did."""
        from registry.store import migrations  # Alembic and SQLAlchemy: loaded for init only

        require_owner(self.store)
        self.migrated = migrations.upgrade(self.settings.store)
        rebuilt = self.queries.read_model.runner.prepare(create=True)
        self.queries.fresh()
        if app_role:
            grant_application_role(self.store, app_role)
            tables = [*self.queries.read_model.tables, "http_cache", *ACCESS_TABLES, *SLOT_SNAPSHOT_TABLES]
            grant_tables(self.store, app_role, dict.fromkeys(tables, "SELECT, INSERT, UPDATE, DELETE"))
            grant_tables(self.store, app_role, dict.fromkeys(IMAGE_TABLES, "SELECT, INSERT"))  # append-only
        return rebuilt

    def restore(self, lines, source: str) -> tuple[int, bytes]:
        """`registry import`: an export loaded into this store (registry.log.restore)."""
        from registry.log.restore import restore

        return restore(self.store, self.queries.log, lines, source)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        contexts.remove_source(self.queries.pinned_context)
        self.queries.close()
        if self.queries.images is not None:
            self.queries.images.close()
        self.access.close()
        self.store.close()
        if self.custody is not None:
            self.custody.close()
        if self.slot_snapshots is not None:
            self.slot_snapshots.close()


def open_custody(settings: Settings) -> KeyCustody:
    """Key custody as the settings choose it: the file keystore, or a PKCS#11 token (an HSM)."""
    if settings.key_custody == "pkcs11":
        from registry.keystore.pkcs11 import Pkcs11Custody, read_pin

        return Pkcs11Custody(settings.pkcs11_module, settings.pkcs11_token,
                             read_pin(settings.pkcs11_pin, settings.pkcs11_pin_file))
    return Keystore(settings.keys_dir, settings.keystore_passphrase)


def open_registry(environ: Mapping[str, str] | None = None, *, custody: KeyCustody | None = None,
                  clock: Callable[[], datetime] = utc_now) -> Registry:
    """Everything, from the environment (os.environ when None). Tests and other custody plug in
    through `custody` (default: the file keystore in REGISTRY_KEYS) and `clock`."""
    return compose(Settings.from_environ(environ), custody=custody, clock=clock)


def compose(settings: Settings, *, custody: KeyCustody | None = None,
            clock: Callable[[], datetime] = utc_now) -> Registry:
    store = EventStore(env=eventsourcing_env(settings.store))
    opened: list = [store]
    try:
        enforce_append_only(store)
        create = settings.store.create_tables
        read_model = ReadModel(store, open_database(settings.store))
        opened.append(read_model)
        read_model.runner.prepare(create=create)
        cache = HttpCache(open_database(settings.store), create_table=create)
        opened.append(cache)
        images = ImageStore(open_database(settings.store), create_table=create)
        opened.append(images)
        slot_snapshots = SlotSnapshots(open_database(settings.store), create_table=create)
        opened.append(slot_snapshots)
        given = custody is not None
        custody = custody or open_custody(settings)
        owned = None if given or not hasattr(custody, "close") else custody  # the root closes what it opened
        if owned is not None:
            opened.append(owned)
        custody = CountedCustody(custody, "given" if given else settings.key_custody)
        log_db = open_database(settings.store)
        opened.append(log_db)
        log = TransparencyLog(reader := LogReader(log_db, store.recorder.events_table_name),
                              Checkpointer(reader, custody, settings.config.public_url, clock))
        store.after_commit.append(log.after_write)
        fetcher = Fetcher(insecure_hosts=settings.insecure_hosts, cache=cache)
        queries = Queries(read_model, settings.config, clock, fetcher, log, images)
        # The operator's extension contexts, pinned before any document is read or signed: those
        # the read model holds now (a restart); any registered since, by this or another process,
        # are found through the source added below the first time a document names them.
        for known in queries.extension_contexts(catch_up=False):
            contexts.register(known.url, known.document.encode("utf-8"), known.sha256)
        edge_queries = queries
        if settings.store.replica is not None:
            # The edges read from the hot standby where they can; commands keep the primary's.
            try:
                standby = open_database(settings.store.replica)
            except ConfigurationError as exc:
                raise ConfigurationError("REGISTRY_REPLICA_DATABASE_URL", exc.message) from None
            replica = ReadModel(store, standby, follows=settings.replica_wait_seconds)
            opened.append(replica)
            edge_queries = ReplicatedQueries(queries, Queries(replica, settings.config, clock, fetcher, log, images))
        main = open_database(settings.store)
        opened.append(main)
        side = open_database(settings.store, side="limits") if settings.store.database == "sqlite" else None
        if side is not None:
            opened.append(side)
        access = Access.open(main, side=side, rate_per_minute=settings.api_rate_per_minute,
                             burst=settings.api_burst, read_rate_per_minute=settings.read_rate_per_minute,
                             read_burst=settings.read_burst, max_event_streams=settings.max_event_streams,
                             idempotency_expiry_seconds=settings.idempotency_expiry_seconds,
                             create_tables=create, store=store)
        opened[-2 if side is not None else -1:] = [access]  # it closes both from now on
    except BaseException:
        for part in reversed(opened):  # nothing half-built stays connected
            part.close()
        raise
    contexts.add_source(queries.pinned_context)
    records = Records(store, settings.config)
    achievements = AchievementCommands(records, settings.config)
    credentials = CredentialCommands(records, custody, settings.config,
                                     StatusListSlots(store, settings.config, slot_snapshots),
                                     clock, pathways=queries.automatic_pathways_requiring)
    commands = Commands(
        issuers=IssuerCommands(records, custody, settings.config),
        achievements=achievements,
        credentials=credentials,
        endorsements=EndorsementCommands(records, custody, settings.config, clock),
        trust=TrustCommands(records),
        status_lists=StatusListCommands(records, custody, settings.config, queries, clock),
        images=ImageCommands(images, settings.config),
        imports=ImportCommands(records, queries.verify, queries.verify_ob2, queries.fetch_document,
                               achievements, credentials),
        contexts=ContextCommands(records),
    )
    return Registry(commands, edge_queries, access, settings, store, custody=owned, slot_snapshots=slot_snapshots)


def open_auditor(environ: Mapping[str, str] | None = None, *, progress: bool = False):
    """`registry audit`: no store of its own, only the verifier's network client and policy."""
    import os

    from registry.log.audit import Auditor
    from registry.network import insecure_hosts

    env = os.environ if environ is None else environ
    return Auditor(Fetcher(insecure_hosts=insecure_hosts(env.get("REGISTRY_INSECURE_HOSTS"))), progress=progress)
