"""Scale: 10,000 -> 100,000 -> 1,000,000 credentials (>= 3,000,000 events) on PostgreSQL, and how each
figure grows with them.

    .venv/bin/python bench/scale.py                          # 10k, 100k and 1M, a fresh cluster each
    .venv/bin/python bench/scale.py --sizes 10000 --seconds 3 --rounds 1   # smoke run, about a minute
    .venv/bin/python bench/scale.py --sizes 10000,100000 --no-haproxy

Per size, on a throwaway PostgreSQL cluster (bench/_pg.py: server defaults, as deploy/ runs it):

(a) projection catch-up from position 0: `registry projections rebuild` (Runner.rebuild: every
    projection's tables dropped, the whole log replayed) in a fresh process, events/s and peak RSS;
    baseline: the same process reading and decoding the whole log (notifications() and the
    registry's mapper) without projecting anything.
(b) GET /credentials/{id}/status latency p50/p99 at a fixed offered rate (1,000 req/s, the paced
    open-loop client of bench/http_load.py: request i is due at t0 + i/rate and its latency counts
    from then), random credential ids, against `registry serve` (2 workers) directly and through a
    local HAProxy (/usr/sbin/haproxy, plain HTTP, no TLS); baseline: a bare Litestar hello-world
    served the same way, directly and through the same HAProxy, in interleaved rounds.
(c) status-list regeneration: the signed BitstringStatusListCredential of the consortium's list 1
    (full from 100k on: 98,304 entries allocated), the first in a new registry (cold) and again with
    the signed-list cache cleared; baseline: encoding and signing the same revoked entries with no
    read. And the slot ledger's start-up, what a new process does before its first allocation:
    from the latest snapshot (registry/store/slot_snapshots.py) against a full replay of every
    StatusListSlot.Allocated event (the baseline).
(d) database size per credential: pg_total_relation_size of every table (events, transparency log,
    read models, everything) / credentials; baseline: the events' raw state bytes per credential.
    Events per credential.
(e) growth ratios 10k -> 100k -> 1M of each figure, beside the bound log(n2)/log(n1) (flat is 1.0).

How the data is built, and what is real. `registry demo`'s ecosystem, then --real (400) credentials
issued for real through CredentialCommands.issue_batch (eddsa-rdfc-2022 signatures, slots from the
registry's allocator, recipients enrolled), in batches of 100, and real revocations, suspensions and
reinstatements of some of them. One issuance writes Credential.Issued, StatusListSlot.Allocated and
Recipient.Awarded per credential, plus Recipient.Enrolled per new learner (demo learners hold about
four badges): 3.25 events per credential. The rest of each size is REPLICATED from those real events:
per real learner, a new learner (a new keyed recipient reference, so a new Recipient aggregate:
Enrolled, then Awarded per credential) whose credentials are copies of the learner's real ones with
a fresh credential id (the document's urn:uuid), a fresh recipient identity hash and salt, and a
fresh status-list entry drawn by the registry's own slot ledger (StatusListSlots.allocate, the
production allocator: a random free entry of the issuer's current list, a new list at 3/4; it
catches up from the log before each transaction, so no entry is ever given twice, and the event
store's identity constraint on StatusListSlot ids would refuse a duplicate), its
StatusListSlot.Allocated event made by the domain's own factory. Of the replicated credentials
1.5 % are revoked, 0.5 % suspended and 40 % of those reinstated (Credential.Revoked/Suspended/
Reinstated, copies of the real ones with new timestamps). Events are encoded as the registry's
msgspec mapper writes them (checked: the mapper decodes every replicated event of the first
transaction) and written with COPY, 10,000 credentials per transaction (one maximal issue_batch),
into registry_events with contiguous notification ids and correct originator versions, under the
event store's insert lock; the transparency log's leaves and nodes are written in the same
transaction exactly as the recorder's LogWriter would (RFC 9162 leaf hashes of each event's log
entry), and after the build one checkpoint is signed, which recomputes every new leaf from its
event before signing (a mismatch would be refused and fail the run). The append-only guards stay
on: this only INSERTs.

The replicated credentials' proofs are NOT valid signatures: their ids, status entries and
recipients changed after signing, and nothing here verifies them (status lookups, list
regeneration, catch-up and sizes never check a credential's proof). Their validFrom and proof
`created` are the real template's.

Figures: a table on stdout, progress on stderr; the printed output is also written to
bench/results/scale.txt and the figures to bench/results/scale.json."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

RESULTS = HERE / "results"
SIZES = (10_000, 100_000, 1_000_000)
PUBLIC_URL = "https://badges.example.org"
TARGET_P99_MS = 5.0  # status lookup p99 at 1,000 req/s through HAProxy
CREDENTIALS_PER_TRANSACTION = 10_000  # the largest issue_batch
REVOKED_SHARE, SUSPENDED_SHARE, REINSTATED_SHARE = 0.015, 0.005, 0.4  # the last: of the suspended
ISSUED = "registry.domain.credential:Credential.Issued"
REVOKED = "registry.domain.credential:Credential.Revoked"
SUSPENDED = "registry.domain.credential:Credential.Suspended"
REINSTATED = "registry.domain.credential:Credential.Reinstated"
ALLOCATED = "registry.domain.status_list:StatusListSlot.Allocated"
ENROLLED = "registry.domain.recipient:Recipient.Enrolled"
AWARDED = "registry.domain.recipient:Recipient.Awarded"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def environ_for(home: Path, url: str) -> dict[str, str]:
    # The per-client read limit off (0), as behind a gateway that limits (bench/http_load.py).
    return {"REGISTRY_HOME": str(home / "data"), "REGISTRY_KEYS": str(home / "keys"),
            "REGISTRY_PUBLIC_URL": PUBLIC_URL, "REGISTRY_DATABASE_URL": url,
            "REGISTRY_READ_RATE_PER_MINUTE": "0"}


# --- the data: real issuance, then replicas of its events -----------------------------------------


class DocumentTemplate:
    """A real credential's signed JSON text with the parts a replica changes cut out."""

    def __init__(self, text: str, credential_id: str, list_url: str, index: int) -> None:
        subject = json.loads(text)["credentialSubject"]
        identity = (subject.get("identifier") or [{}])[0]
        cuts = [(f"urn:uuid:{credential_id}", "id"),
                (f'"id": "{list_url}#{index}"', "entry_id"),
                (f'"statusListIndex": "{index}"', "index"),
                (f'"statusListCredential": "{list_url}"', "list_url")]
        if identity.get("identityHash"):
            cuts += [(identity["identityHash"], "hash"), (f'"salt": "{identity["salt"]}"', "salt")]
        marked = text
        for original, name in cuts:
            if marked.count(original) != 1:
                raise RuntimeError(f"the template credential {credential_id} holds {original!r} "
                                   f"{marked.count(original)} times, not once")
            marked = marked.replace(original, f"\x00{name}\x00")
        self.parts = marked.split("\x00")  # literal, name, literal, name, ..., literal
        self.names = set(self.parts[1::2])

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts[:]
        for i in range(1, len(parts), 2):
            parts[i] = values[parts[i]]
        return "".join(parts)


@dataclass
class Learner:
    """A real learner's events, to copy: Enrolled, then per credential its Issued and Awarded."""

    enrolled: dict
    credentials: list[tuple[dict, DocumentTemplate, dict]]  # (Issued state, document, Awarded state)
    old_ids: list[str]  # the real credential ids, to map caused_by


@dataclass
class Built:
    credentials: int = 0
    events: int = 0
    real_credentials: int = 0
    real_seconds: float = 0.0
    replica_seconds: float = 0.0
    checkpoint_seconds: float = 0.0
    vacuum_seconds: float = 0.0
    transactions: int = 0
    topics: dict[str, int] = field(default_factory=dict)
    sample: list[str] = field(default_factory=list)  # credential ids for the lookups
    known: dict[str, str] = field(default_factory=dict)  # some ids -> their status, to check answers
    revoked_by_list: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def timestamps(count: int):
    """Consecutive event timestamps from now, in the stored form (…Z, microseconds)."""
    base = datetime.now(timezone.utc).replace(tzinfo=None)
    step = timedelta(microseconds=1)
    for i in range(count):
        yield (base + i * step).isoformat(timespec="microseconds") + "Z"


def issue_real(registry, count: int, seed: int) -> tuple[list[str], dict[str, str], float]:
    """`count` credentials issued for real (batches of 100), a few revoked/suspended/reinstated."""
    from issuance_verification import awards, module_badges
    from registry.commands import Actor

    actor = Actor("bench")
    with contextlib.redirect_stderr(io.StringIO()):
        badges = module_badges(registry)
    stream = awards(badges, seed=seed)
    ids: list[str] = []
    began = time.perf_counter()
    while len(ids) < count:
        batch = [next(stream) for _ in range(min(100, count - len(ids)))]
        ids += registry.commands.credentials.issue_batch(batch, actor=actor).ids
    seconds = time.perf_counter() - began
    rng = random.Random(seed)
    status = dict.fromkeys(ids, "active")
    chosen = rng.sample(ids, max(2, round(count * (REVOKED_SHARE + SUSPENDED_SHARE))))
    suspended = chosen[:max(1, round(len(chosen) * SUSPENDED_SHARE / (REVOKED_SHARE + SUSPENDED_SHARE)))]
    for credential in chosen:
        if credential in suspended:
            registry.commands.credentials.suspend(credential, reason="under investigation", actor=actor)
            status[credential] = "suspended"
        else:
            registry.commands.credentials.revoke(credential, reason="the assessment was found invalid", actor=actor)
            status[credential] = "revoked"
    registry.commands.credentials.reinstate(suspended[0], reason="investigation closed", actor=actor)
    status[suspended[0]] = "active"
    return ids, status, seconds


def learners_from_log(connection, after: int) -> tuple[list[Learner], dict[str, dict]]:
    """The real learners written after position `after` (those enrolled there), and one real state
    of each status change, read from the events table itself."""
    import msgspec

    issued: dict[str, dict] = {}
    recipients: dict[str, list[tuple[int, str, dict]]] = defaultdict(list)
    changes: dict[str, dict] = {}
    rows = connection.execute("SELECT originator_id, originator_version, topic, state FROM registry_events"
                              " WHERE notification_id > %s ORDER BY notification_id", (after,))
    for originator, version, topic, state in rows:
        decoded = msgspec.json.decode(bytes(state))
        if msgspec.json.encode(decoded) != bytes(state):
            raise RuntimeError(f"a stored {topic} does not re-encode byte for byte; replicas would differ")
        if topic == ISSUED:
            issued[str(originator)] = decoded
        elif topic in (ENROLLED, AWARDED):
            recipients[str(originator)].append((version, topic, decoded))
        elif topic in (REVOKED, SUSPENDED, REINSTATED):
            changes[topic] = decoded
    learners = []
    for events in recipients.values():
        events.sort(key=lambda e: e[0])
        if events[0][1] != ENROLLED or events[0][0] != 1:
            continue  # enrolled before (a demo learner): not a whole learner to copy
        credentials, old = [], []
        for _, topic, awarded in events[1:]:
            state = issued.get(awarded["credential_id"])
            if state is None:
                break
            credentials.append((state, DocumentTemplate(state["document"], awarded["credential_id"],
                                                        state["status_list"], state["status_list_index"]), awarded))
            old.append(awarded["credential_id"])
        else:
            learners.append(Learner(events[0][2], credentials, old))
    missing = {REVOKED, SUSPENDED, REINSTATED} - changes.keys()
    if missing or not learners:
        raise RuntimeError(f"the real issuance gave no template for {sorted(missing) or 'a learner'}")
    return learners, changes


class Replicator:
    """Writes replicas of the real learners' events with COPY, a transaction at a time."""

    def __init__(self, registry, url: str, learners: list[Learner], changes: dict[str, dict], seed: int,
                 built: Built) -> None:
        import psycopg

        from registry.commands.status_lists import StatusListSlots
        from registry.domain import Issuer

        self.registry, self.learners, self.changes, self.built = registry, learners, changes, built
        self.rng = random.Random(seed)
        self.connection = psycopg.connect(url)
        self.mapper = registry.store.mapper
        # The production allocator, writing its snapshots every 10,000 positions as a registry does.
        self.ledger = StatusListSlots(registry.store, registry.settings.config, registry.slot_snapshots)
        issuer_ids = {state["issuer_id"] for learner in learners for state, _, _ in learner.credentials}
        self.issuers = {i: registry.store.load(uuid.UUID(i), Issuer, "issuer") for i in issuer_ids}
        self.checked = False
        self.sample_every = 1

    def close(self) -> None:
        self.connection.close()

    def write(self, credentials: int) -> None:
        """Replicas of whole learners until `credentials` more credentials are in the log."""
        began = time.perf_counter()
        done = 0
        self.sample_every = max(1, credentials // 20_000)
        while done < credentials:
            learners = []
            planned = 0
            while planned < min(CREDENTIALS_PER_TRANSACTION, credentials - done):
                learner = self.rng.choice(self.learners)
                if planned + len(learner.credentials) > credentials - done:
                    # The last learner of the size: only as many of its credentials as are still wanted.
                    learner = Learner(learner.enrolled, learner.credentials[:credentials - done - planned],
                                      learner.old_ids)
                learners.append(learner)
                planned += len(learner.credentials)
            self._transaction(learners)
            done += planned
            self.built.transactions += 1
            if self.built.transactions % 10 == 0:
                progress(f"  replicated {done:,} of {credentials:,} credentials "
                         f"({done / (time.perf_counter() - began):,.0f}/s)")
        # As the next allocation of any registry process would: the ledger catches up and writes its
        # snapshot once 10,000 positions have passed since its last (a transaction here spans ~33,000).
        self.ledger._catch_up()
        self.built.replica_seconds = time.perf_counter() - began

    def _transaction(self, learners: list[Learner]) -> None:
        from eventsourcing.persistence import StoredEvent

        from registry.commands.status_lists import PendingSlots
        from registry.domain.identity import recipient_id
        from registry.log import entries, tree

        pending = PendingSlots()  # one transaction: drawn entries are never drawn twice
        issued_rows, recipient_rows, change_rows = [], [], []
        count = sum(len(learner.credentials) for learner in learners)
        clock = timestamps(count * 5 + 16)
        for learner in learners:
            stored = "email-hmac:" + secrets.token_hex(32)
            recipient = recipient_id(stored)
            recipient_rows.append((recipient, 1, ENROLLED, {**learner.enrolled, "timestamp": next(clock),
                                                            "recipient": stored}))
            new_ids = {old: uuid.uuid4() for old in learner.old_ids}
            for n, ((state, document, awarded), old) in enumerate(zip(learner.credentials, learner.old_ids), start=2):
                credential = new_ids[old]
                issuer = self.issuers[state["issuer_id"]]
                entry = self.ledger.allocate(issuer, credential, pending)
                index = int(entry["statusListIndex"])
                values = {"id": f"urn:uuid:{credential}", "entry_id": f'"id": "{entry["id"]}"',
                          "index": f'"statusListIndex": "{index}"',
                          "list_url": f'"statusListCredential": "{entry["statusListCredential"]}"',
                          "hash": "sha256$" + secrets.token_hex(32), "salt": f'"salt": "{secrets.token_hex(16)}"'}
                caused = state.get("caused_by")
                issued_rows.append((credential, 1, ISSUED, {
                    **state, "timestamp": next(clock), "recipient": stored, "document": document.fill(values),
                    "status_list": entry["statusListCredential"], "status_list_index": index,
                    "caused_by": None if caused is None else str(new_ids.get(caused, caused))}))
                recipient_rows.append((recipient, n, AWARDED, {**awarded, "timestamp": next(clock),
                                                               "credential_id": str(credential)}))
                change_rows += self._status_changes(credential, entry, clock)
        slot_rows = []
        for slot in pending.slots:
            for event in slot.collect_events():
                s = self.mapper.to_stored_event(event)
                slot_rows.append((slot.id, s.originator_version, s.topic, s.state))
        import msgspec

        encode = msgspec.json.encode
        rows = [(o, v, t, encode(s)) for o, v, t, s in issued_rows] + slot_rows + \
               [(o, v, t, encode(s)) for o, v, t, s in recipient_rows] + \
               [(o, v, t, encode(s)) for o, v, t, s in change_rows]
        if not self.checked:  # every replica of the first transaction, through the registry's mapper
            for o, v, t, s in rows:
                self.mapper.to_domain_event(StoredEvent(o, v, t, s))
            self.checked = True

        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute("SELECT public.registry_events_lock()")  # the recorder's insert lock
            cursor.execute("SELECT max(notification_id) FROM registry_events")
            last = cursor.fetchone()[0] or 0
            cursor.execute("SELECT leaf, position FROM log_leaves ORDER BY leaf DESC LIMIT 1")
            tip = cursor.fetchone()
            size = 0 if tip is None else tip[0] + 1
            if tip is not None and tip[1] != last:
                raise RuntimeError(f"events after the log's last leaf (position {tip[1]} < {last})")
            wanted = tree.decomposition(size)
            frontier = {}
            for level, index in wanted:
                if level == 0:
                    cursor.execute("SELECT hash FROM log_leaves WHERE leaf = %s", (index,))
                else:
                    cursor.execute("SELECT hash FROM log_nodes WHERE level = %s AND idx = %s", (level, index))
                frontier[(level, index)] = bytes(cursor.fetchone()[0])
            edge = tree.Frontier((level, frontier[(level, index)]) for level, index in wanted)
            leaves, nodes = [], []
            with cursor.copy("COPY registry_events (notification_id, originator_id, originator_version, topic, state)"
                             " FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "uuid", "int8", "text", "bytea"])
                for i, (originator, version, topic, state) in enumerate(rows):
                    position = last + 1 + i
                    copy.write_row((position, originator, version, topic, state))
                    line = entries.entry(originator, version, topic, state)
                    if len(line) > entries.MAX_ENTRY:
                        raise RuntimeError(f"a {topic} entry of {len(line)} bytes: too large for the log")
                    value = tree.leaf_hash(line)
                    leaves.append((size + i, position, value))
                    nodes += edge.push(value)
            with cursor.copy("COPY log_leaves (leaf, position, hash) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8", "int8", "bytea"])
                for row in leaves:
                    copy.write_row(row)
            with cursor.copy("COPY log_nodes (level, idx, hash) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "int8", "bytea"])
                for row in nodes:
                    copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('registry_events', 'notification_id'), %s)",
                           (last + len(rows),))
        for credential, _, _, state in issued_rows[::self.sample_every]:
            self.built.sample.append(str(credential))
        self.built.credentials += len(issued_rows)

    def _status_changes(self, credential: uuid.UUID, entry: dict, clock) -> list[tuple]:
        draw = self.rng.random()
        if draw < REVOKED_SHARE:
            self.built.revoked_by_list[entry["statusListCredential"]].add(int(entry["statusListIndex"]))
            self._know(credential, "revoked")
            return [(credential, 2, REVOKED, {**self.changes[REVOKED], "timestamp": next(clock)})]
        if draw < REVOKED_SHARE + SUSPENDED_SHARE:
            if self.rng.random() < REINSTATED_SHARE:
                self._know(credential, "active")
                return [(credential, 2, SUSPENDED, {**self.changes[SUSPENDED], "timestamp": next(clock)}),
                        (credential, 3, REINSTATED, {**self.changes[REINSTATED], "timestamp": next(clock)})]
            self._know(credential, "suspended")
            return [(credential, 2, SUSPENDED, {**self.changes[SUSPENDED], "timestamp": next(clock)})]
        if self.rng.random() < 0.0005:
            self._know(credential, "active")
        return []

    def _know(self, credential: uuid.UUID, status: str) -> None:
        if len(self.built.known) < 400 or self.rng.random() < 0.01:
            self.built.known[str(credential)] = status


def build(home: Path, url: str, size: int, args) -> Built:
    import psycopg

    from registry.bootstrap import open_registry

    built = Built()
    registry = open_registry(environ_for(home, url))
    try:
        real_ids, real_status, built.real_seconds = issue_real(registry, args.real, args.seed)
        built.real_credentials = len(real_ids)
        with psycopg.connect(url) as connection:
            demo_end = connection.execute(
                "SELECT min(notification_id) - 1 FROM registry_events WHERE topic = %s AND originator_id = %s",
                (ISSUED, uuid.UUID(real_ids[0]))).fetchone()[0]
            learners, changes = learners_from_log(connection, demo_end)
            existing = connection.execute("SELECT count(*) FROM registry_events WHERE topic = %s", (ISSUED,)).fetchone()[0]
        progress(f"  demo + {len(real_ids)} real credentials ({len(real_ids) / built.real_seconds:.0f}/s signed and "
                 f"stored); {len(learners)} real learners to copy; {existing:,} credentials in the log")
        built.known.update({k: v for k, v in real_status.items() if v != "active"})
        built.sample += real_ids
        built.credentials = existing
        replicator = Replicator(registry, url, learners, changes, args.seed, built)
        try:
            replicator.write(max(0, size - existing))
        finally:
            replicator.close()
        began = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as connection:
            # What autovacuum does after a bulk load, done now so the figures do not depend on its timing.
            for table in ("registry_events", "log_leaves", "log_nodes", "status_slot_snapshots"):
                connection.execute(f"VACUUM (ANALYZE) {table}")
        built.vacuum_seconds = time.perf_counter() - began
        began = time.perf_counter()
        signed = registry.queries.log.sign()  # recomputes every new leaf from its event first
        built.checkpoint_seconds = time.perf_counter() - began
        with psycopg.connect(url) as connection:
            built.topics = {t.rsplit(":", 1)[-1]: n for t, n in connection.execute(
                "SELECT topic, count(*) FROM registry_events GROUP BY topic ORDER BY 1")}
            built.events = connection.execute("SELECT count(*) FROM registry_events").fetchone()[0]
        if signed.size != built.events:
            raise RuntimeError(f"the checkpoint covers {signed.size} leaves, the log holds {built.events} events")
        built.credentials = built.topics.get("Credential.Issued", 0)
    finally:
        registry.close()
    return built


# --- (a) catch-up from position 0, in a fresh process ------------------------------------------------


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rebuild_child(home: str, url: str) -> int:
    """Run in a fresh process: the baseline read of the log, then Runner.rebuild() of every projection."""
    from registry.bootstrap import open_registry

    registry = open_registry(environ_for(Path(home), url))
    try:
        store = registry.store
        events = store.max_position()
        began = time.perf_counter()
        read = 0
        for notification in store.notifications():
            store.mapper.to_domain_event(notification)
            read += 1
        read_seconds = time.perf_counter() - began
        rss_before = vm_hwm_mib()
        reads = registry.queries.read_model
        began = time.perf_counter()
        positions = reads.runner.rebuild()
        seconds = time.perf_counter() - began
        counts = {name: reads.db.query(sql)[0][0] for name, sql in {
            "credentials": "SELECT count(*) FROM credential_status",
            "revoked": "SELECT count(*) FROM credential_status WHERE status = 'revoked'",
            "suspended": "SELECT count(*) FROM credential_status WHERE status = 'suspended'",
            "quarantined": "SELECT count(*) FROM projection_quarantine"}.items()}
        print(json.dumps({"events": events, "read_events": read, "read_seconds": read_seconds,
                          "seconds": seconds, "positions": positions, "counts": counts,
                          "peak_rss_mib": vm_hwm_mib(), "rss_before_rebuild_mib": rss_before}))
    finally:
        registry.close()
    return 0


def catch_up(home: Path, url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--rebuild-child", str(home), url], capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the rebuild failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- (c) status-list regeneration and the slot ledger's start-up -------------------------------------


def lists_child(home: str, url: str, slug: str) -> int:
    """Run in a fresh process: (c), printed as one JSON object."""
    from registry.bootstrap import open_registry
    from registry.commands.status_lists import StatusListSlots
    from registry.domain import Issuer
    from registry.domain.identity import issuer_id
    from registry.domain.status_list import LIST_SIZE
    from registry.vc import proofs, status_list
    from registry.vc.openbadges import xsd_datetime

    registry = open_registry(environ_for(Path(home), url))
    try:
        lists = registry.commands.status_lists
        began = time.perf_counter()
        signed = lists.sign(slug, 1)  # a new registry's first: issuer, key, read model check, read, encode, sign
        cold = time.perf_counter() - began
        again = []
        for _ in range(5):
            lists._signed.clear()
            began = time.perf_counter()
            lists.sign(slug, 1)
            again.append(time.perf_counter() - began)
        list_url = registry.settings.config.status_list_url(slug, 1)
        revoked = registry.queries.revoked_indexes(list_url)
        bits = status_list.decode(signed["credentialSubject"]["encodedList"])
        if status_list.set_indexes(bits) != revoked:
            raise RuntimeError(f"the signed list {list_url} does not hold exactly the revoked entries")
        issuer = registry.store.load(issuer_id(slug), Issuer, "issuer")
        key = issuer.require_signing_key()
        signer = lists.custody.signer(key.public_key_multibase, key.verification_method)
        baseline = []
        for _ in range(5):
            began = time.perf_counter()
            now = xsd_datetime(datetime.now(timezone.utc))
            document = status_list.status_list_credential(list_url, issuer.did, status_list.encode(revoked, LIST_SIZE),
                                                          valid_from=now)
            proofs.sign(document, signer, created=now)
            baseline.append(time.perf_counter() - began)

        def ledger_start(snapshots) -> tuple[float, StatusListSlots]:
            ledger = StatusListSlots(registry.store, registry.settings.config, snapshots)
            ledger.snapshot_every = 1 << 62  # measuring: write no snapshot
            began = time.perf_counter()
            ledger._catch_up()
            return time.perf_counter() - began, ledger

        from_snapshot = min(ledger_start(registry.slot_snapshots)[0] for _ in range(3))
        snapshot_position = registry.slot_snapshots.load()[0]
        replay, ledger = ledger_start(None)
        key_of_list = (issuer.id, "revocation", 1)
        lists_of_issuer = sorted(n for (i, _, n) in ledger.counts if i == issuer.id)
        print(json.dumps({"list": list_url, "allocated": ledger.counts[key_of_list], "revoked": len(revoked),
                "revoked_indexes": sorted(revoked),
                "lists_of_issuer": len(lists_of_issuer),
                "cold_ms": cold * 1000, "regenerate_ms": statistics.median(again) * 1000,
                "regenerate_max_ms": max(again) * 1000, "baseline_sign_only_ms": statistics.median(baseline) * 1000,
                "ledger_from_snapshot_ms": from_snapshot * 1000, "ledger_full_replay_ms": replay * 1000,
                "snapshot_position": snapshot_position, "log_position": registry.store.max_position(),
                "allocations": sum(ledger.counts.values())}))
    finally:
        registry.close()
    return 0


def lists_and_ledger(home: Path, url: str, built: Built, slug: str) -> dict:
    """(c) in a fresh process: a new process's first signed list and its slot ledger's start-up."""
    done = subprocess.run([sys.executable, __file__, "--lists-child", str(home), url, slug], capture_output=True,
                          text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the status-list child failed: {done.stderr[-3000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    revoked = set(found.pop("revoked_indexes"))
    # Every revocation the generator wrote into list 1 (the real ones are not tracked there) is in the list.
    found["revoked_entries_checked"] = len(built.revoked_by_list[found["list"]])
    if not built.revoked_by_list[found["list"]] <= revoked:
        raise RuntimeError(f"the signed list {found['list']} lacks revoked entries the generator wrote")
    return found


# --- (d) sizes ------------------------------------------------------------------------------------------


def sizes(url: str, credentials: int) -> dict:
    import psycopg

    with psycopg.connect(url) as connection:
        tables = dict(connection.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname = 'public'").fetchall())
        events, payload = connection.execute("SELECT count(*), sum(length(state)) FROM registry_events").fetchone()
        settings = dict(connection.execute(
            "SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings WHERE name IN ('shared_buffers',"
            " 'synchronous_commit', 'fsync', 'wal_level', 'max_connections', 'effective_cache_size', 'work_mem',"
            " 'server_version', 'default_toast_compression')").fetchall())
    total = sum(tables.values())
    log = sum(tables.get(t, 0) for t in ("log_leaves", "log_nodes", "log_checkpoints", "log_state"))
    return {"total_bytes": total, "events_table_bytes": tables.get("registry_events", 0), "log_bytes": log,
            "other_bytes": total - tables.get("registry_events", 0) - log,
            "bytes_per_credential": total / credentials, "payload_bytes_per_credential": int(payload) / credentials,
            "events": events, "events_per_credential": events / credentials,
            "largest_tables": dict(sorted(tables.items(), key=lambda kv: -kv[1])[:8]), "settings": settings}


# --- (b) HTTP: status lookups at a fixed rate, directly and through HAProxy ---------------------------------


@contextlib.contextmanager
def haproxy(work: Path, backends: dict[str, tuple[int, str]]):
    """A local HAProxy with one plain-HTTP frontend per backend; yields {name: frontend port}."""
    from http_load import free_port

    ports = {name: free_port() for name in backends}
    config = ["global", "    maxconn 4000", "defaults", "    mode http", "    timeout connect 3s",
              "    timeout client 30s", "    timeout server 30s", "    option http-keep-alive"]
    for name, port in backends.items():
        config += [f"frontend fe_{name}", f"    bind 127.0.0.1:{ports[name]}", f"    default_backend be_{name}",
                   f"backend be_{name}", f"    server s1 127.0.0.1:{port[0]} maxconn 512"]
    path = work / "haproxy.cfg"
    path.write_text("\n".join(config) + "\n")
    subprocess.run(["/usr/sbin/haproxy", "-c", "-q", "-f", str(path)], check=True)
    log = (work / "haproxy.log").open("w")
    process = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", str(path)], stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        from http_load import wait_until_up

        for name, (_, probe) in backends.items():
            wait_until_up(process, ports[name], probe, work / "haproxy.log")
        yield ports
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def check_answers(port: int, known: dict[str, str]) -> int:
    """GET the status of credentials whose status the generator knows; the number of wrong answers."""
    import http.client

    wrong = 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for credential, status in list(known.items())[:300]:
        connection.request("GET", f"/credentials/{credential}/status")
        answer = connection.getresponse()
        body = json.loads(answer.read())
        if answer.status != 200 or body.get("status") != status:
            wrong += 1
            progress(f"  WRONG: {credential} answered {answer.status} {body.get('status')}, expected {status}")
    connection.close()
    return wrong


def http_figures(home: Path, url: str, built: Built, hello_port: int, work: Path, args) -> dict:
    from http_load import http_get, run_paced, server

    argv = [sys.executable, "-m", "registry.cli", "serve", "--workers", str(args.workers), "--log-level", "warning"]
    env = {**os.environ, **environ_for(home, url), "PYTHONPATH": str(ROOT)}
    paths = [f"/credentials/{c}/status" for c in built.sample]
    status_requests = [http_get(p) for p in paths]
    hello_requests = [http_get("/")]
    rounds: dict[str, list[dict]] = defaultdict(list)
    with server(argv, env, paths[0], work / "serve.log") as port:
        wrong = check_answers(port, built.known)
        with contextlib.ExitStack() as stack:
            endpoints = {"hello direct": (hello_port, hello_requests), "status direct": (port, status_requests)}
            if args.haproxy:
                proxied = stack.enter_context(haproxy(work, {"hello": (hello_port, "/"), "registry": (port, paths[0])}))
                endpoints["hello via HAProxy"] = (proxied["hello"], hello_requests)
                endpoints["status via HAProxy"] = (proxied["registry"], status_requests)
            for name, (p, requests) in endpoints.items():  # warm-up: connections, caches, the pages read
                run_paced(p, requests, args.rate, args.warm_up, args.connections)
            for _ in range(args.rounds):
                for name, (p, requests) in endpoints.items():
                    load = os.getloadavg()[0]
                    found = run_paced(p, requests, args.rate, args.seconds, args.connections)
                    found["loadavg_1min_before"] = load
                    rounds[name].append(found)
                    progress(f"  {name:20} {found['rps']:6.0f} req/s  p50 {found['p50_ms']:6.2f} ms  "
                             f"p99 {found['p99_ms']:7.2f} ms  errors {found['errors']}  (load {load:.1f})")
    out = {"wrong_answers": wrong, "ids": len(paths)}
    for name, found in rounds.items():
        best = min(found, key=lambda r: r["p99_ms"])
        out[name] = {"best_p50_ms": best["p50_ms"], "best_p99_ms": best["p99_ms"],
                     "loadavg_1min": [round(r["loadavg_1min_before"], 2) for r in found],
                     "p50_ms": statistics.median(r["p50_ms"] for r in found),
                     "p99_ms": statistics.median(r["p99_ms"] for r in found),
                     "max_ms": statistics.median(r["max_ms"] for r in found),
                     "rps": statistics.median(r["rps"] for r in found),
                     "errors": sum(r["errors"] for r in found), "rounds": found}
    return out


# --- one size -------------------------------------------------------------------------------------------


def one_size(size: int, hello_port: int, args) -> dict:
    from _pg import restartable_postgres

    began = time.perf_counter()
    with restartable_postgres() as cluster, tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        home, work = Path(tmp) / "home", Path(tmp)
        progress(f"{size:,} credentials: building on a fresh cluster (port {cluster.port})")
        built = build(home, cluster.url, size, args)
        progress(f"  {built.credentials:,} credentials, {built.events:,} events; replicas in "
                 f"{built.replica_seconds:.0f} s; VACUUM ANALYZE {built.vacuum_seconds:.0f} s; first checkpoint "
                 f"{built.checkpoint_seconds:.1f} s")
        progress("  (a) rebuilding every projection from position 0 in a fresh process")
        caught = catch_up(home, cluster.url)
        progress(f"  {caught['events'] / caught['seconds']:,.0f} events/s ({caught['seconds']:.0f} s); baseline read "
                 f"{caught['read_events'] / caught['read_seconds']:,.0f} events/s")
        expected = {"credentials": built.credentials, "revoked": built.topics.get("Credential.Revoked", 0),
                    "suspended": built.topics.get("Credential.Suspended", 0) - built.topics.get("Credential.Reinstated", 0)}
        wrong_counts = {k: (caught["counts"][k], v) for k, v in expected.items() if caught["counts"][k] != v}
        if caught["counts"]["quarantined"]:
            wrong_counts["quarantined"] = (caught["counts"]["quarantined"], 0)
        import psycopg

        with psycopg.connect(cluster.url, autocommit=True) as connection:
            connection.execute("ANALYZE")  # the rebuilt tables, as autovacuum would soon after
        progress("  (c) status list regeneration, slot ledger start-up")
        listed = lists_and_ledger(home, cluster.url, built, "softskills4eu")
        progress(f"  list 1: {listed['allocated']:,} allocated, {listed['revoked']:,} revoked; cold "
                 f"{listed['cold_ms']:.1f} ms, again {listed['regenerate_ms']:.1f} ms; ledger from snapshot "
                 f"{listed['ledger_from_snapshot_ms']:.1f} ms, full replay {listed['ledger_full_replay_ms']:.0f} ms")
        measured_sizes = sizes(cluster.url, built.credentials)
        progress(f"  (d) {measured_sizes['bytes_per_credential']:,.0f} bytes per credential; settings "
                 f"{measured_sizes['settings']}")
        progress(f"  (b) status lookups at {args.rate:.0f} req/s, {args.rounds} rounds of {args.seconds:g} s")
        web = http_figures(home, cluster.url, built, hello_port, work, args)
    return {"size": size, "seconds": time.perf_counter() - began,
            "built": {k: v for k, v in built.__dict__.items() if k not in ("sample", "known", "revoked_by_list")},
            "catch_up": caught, "wrong_counts": wrong_counts, "lists": listed, "sizes": measured_sizes, "http": web}


# --- the report -------------------------------------------------------------------------------------------

# (label, getter, unit, higher is worse)
FIGURES = [
    ("catch-up events/s (rebuild)", lambda r: r["catch_up"]["events"] / r["catch_up"]["seconds"], "/s", False),
    ("  baseline: read+decode events/s", lambda r: r["catch_up"]["read_events"] / r["catch_up"]["read_seconds"], "/s", False),
    ("catch-up seconds", lambda r: r["catch_up"]["seconds"], "s", True),
    ("catch-up peak RSS", lambda r: r["catch_up"]["peak_rss_mib"], "MiB", True),
    ("status p50 via HAProxy (median round)", lambda r: r["http"].get("status via HAProxy", {}).get("p50_ms"), "ms", True),
    ("status p99 via HAProxy (median round)", lambda r: r["http"].get("status via HAProxy", {}).get("p99_ms"), "ms", True),
    ("  baseline: hello p50 via HAProxy", lambda r: r["http"].get("hello via HAProxy", {}).get("p50_ms"), "ms", True),
    ("  baseline: hello p99 via HAProxy", lambda r: r["http"].get("hello via HAProxy", {}).get("p99_ms"), "ms", True),
    ("status p50/p99 via HAProxy, best round", lambda r: best(r, "status via HAProxy"), "pair", True),
    ("  baseline: hello, best round", lambda r: best(r, "hello via HAProxy"), "pair", True),
    ("status p50 direct (median round)", lambda r: r["http"]["status direct"]["p50_ms"], "ms", True),
    ("status p99 direct (median round)", lambda r: r["http"]["status direct"]["p99_ms"], "ms", True),
    ("  baseline: hello p50 direct", lambda r: r["http"]["hello direct"]["p50_ms"], "ms", True),
    ("  baseline: hello p99 direct", lambda r: r["http"]["hello direct"]["p99_ms"], "ms", True),
    ("status p50/p99 direct, best round", lambda r: best(r, "status direct"), "pair", True),
    ("  baseline: hello, best round", lambda r: best(r, "hello direct"), "pair", True),
    ("1-min load average during the rounds", lambda r: statistics.median(
        x for e in r["http"].values() if isinstance(e, dict) for x in e["loadavg_1min"]), "", None),
    ("status achieved req/s direct", lambda r: r["http"]["status direct"]["rps"], "/s", False),
    ("list regeneration, cold (1st in process)", lambda r: r["lists"]["cold_ms"], "ms", True),
    ("list regeneration, cache cleared", lambda r: r["lists"]["regenerate_ms"], "ms", True),
    ("  baseline: encode+sign only", lambda r: r["lists"]["baseline_sign_only_ms"], "ms", True),
    ("  list 1 entries allocated", lambda r: r["lists"]["allocated"], "", None),
    ("  list 1 entries revoked", lambda r: r["lists"]["revoked"], "", None),
    ("slot ledger start-up, from snapshot", lambda r: r["lists"]["ledger_from_snapshot_ms"], "ms", True),
    ("  baseline: full replay", lambda r: r["lists"]["ledger_full_replay_ms"], "ms", True),
    ("database bytes per credential", lambda r: r["sizes"]["bytes_per_credential"], "B", True),
    ("  events table per credential", lambda r: r["sizes"]["events_table_bytes"] / r["built"]["credentials"], "B", True),
    ("  transparency log per credential", lambda r: r["sizes"]["log_bytes"] / r["built"]["credentials"], "B", True),
    ("  read models etc. per credential", lambda r: r["sizes"]["other_bytes"] / r["built"]["credentials"], "B", True),
    ("  baseline: raw event state per credential", lambda r: r["sizes"]["payload_bytes_per_credential"], "B", True),
    ("events per credential", lambda r: r["sizes"]["events_per_credential"], "", None),
]


def best(r: dict, name: str) -> tuple[float, float] | None:
    found = r["http"].get(name)
    return None if found is None else (found["best_p50_ms"], found["best_p99_ms"])


def fmt(value, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "pair":
        return f"{value[0]:.2f}/{value[1]:.2f} ms"
    if unit in ("ms",):
        return f"{value:,.2f} ms"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if unit == "s":
        return f"{value:,.1f} s"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"


def report(results: list[dict], args, seconds: float) -> tuple[str, list[dict]]:
    lines = []
    out = lines.append
    labels = [f"{r['built']['credentials']:,} cred" for r in results]
    out("Scale on PostgreSQL: real issuance replicated (the replicas' proofs are NOT valid signatures and nothing")
    out("below verifies them); every figure beside its same-run baseline.")
    out("")
    for r in results:
        b, s = r["built"], r["sizes"]
        out(f"{b['credentials']:,} credentials, {b['events']:,} events ({s['events_per_credential']:.3f} per credential): "
            f"{b['real_credentials']} issued for real ({b['real_credentials'] / b['real_seconds']:.0f}/s), the rest "
            f"replicated in {b['replica_seconds']:.0f} s ({b['transactions']} COPY transactions); first checkpoint after "
            f"it {b['checkpoint_seconds']:.1f} s (recomputes every new leaf from its event); {b['topics']}")
    out(f"server settings: {results[0]['sizes']['settings']}")
    out("")
    width = max(len(f[0]) for f in FIGURES) + 2
    head = f"{'figure':{width}}" + "".join(f"{label:>18}" for label in labels)
    ratios = [f"{results[i]['size'] // 1000}k->{results[i + 1]['size'] // 1000}k" for i in range(len(results) - 1)]
    bounds = [math.log(results[i + 1]["size"]) / math.log(results[i]["size"]) for i in range(len(results) - 1)]
    head += "".join(f"{r:>14}" for r in ratios)
    out(head)
    growth = []
    for label, get, unit, worse in FIGURES:
        values = []
        for r in results:
            try:
                values.append(get(r))
            except (KeyError, ZeroDivisionError, TypeError):
                values.append(None)
        row = f"{label:{width}}" + "".join(f"{fmt(v, unit):>18}" for v in values)
        for i in range(len(values) - 1):
            a, b = values[i], values[i + 1]
            if isinstance(a, tuple) and isinstance(b, tuple):
                a, b = a[1], b[1]  # the p99
            if a and b is not None:
                ratio = b / a
                row += f"{ratio:>13.2f}x"
                if worse is not None and not label.startswith("  "):
                    cost = ratio if worse else 1 / ratio  # >1: worse at the larger size
                    growth.append({"figure": label, "step": ratios[i], "ratio": round(ratio, 3),
                                   "cost_ratio": round(cost, 3), "log_bound": round(bounds[i], 3),
                                   "within_log_bound": cost <= bounds[i] * 1.1})
            else:
                row += f"{'-':>14}"
        out(row)
    out("")
    out("Growth: a ratio is figure(larger)/figure(smaller); 'cost' makes higher worse (1/ratio for rates). Flat is 1.00;")
    out("logarithmic growth from n1 to n2 is at most log(n2)/log(n1) "
        + ", ".join(f"{r} {b:.2f}" for r, b in zip(ratios, bounds)) + " (verdict allows 10 % noise).")
    for g in growth:
        if g["figure"] == "catch-up seconds":
            continue  # linear in the log by nature: its rate is the figure that must stay flat
        out(f"  {'OK  ' if g['within_log_bound'] else 'GROWS'} {g['figure']:{width}} {g['step']:>10}: cost x{g['cost_ratio']:.2f}"
            f" (bound {g['log_bound']:.2f})")
    out("")
    for r in results:
        h = r["http"]
        proxied = h.get("status via HAProxy")
        if proxied:
            ok = proxied["p99_ms"] < TARGET_P99_MS and proxied["rps"] >= 0.95 * args.rate
            ok_best = proxied["best_p99_ms"] < TARGET_P99_MS
            out(f"{'PASS' if ok else 'MISS'}  {r['built']['credentials']:,} credentials: status p99 via HAProxy at "
                f"{args.rate:.0f} req/s = {proxied['p99_ms']:.2f} ms, median of {args.rounds} rounds (target < "
                f"{TARGET_P99_MS} ms; achieved {proxied['rps']:.0f} req/s); best round {proxied['best_p99_ms']:.2f} ms "
                f"({'PASS' if ok_best else 'MISS'}); hello-world via HAProxy p99 {r['http']['hello via HAProxy']['p99_ms']:.2f} ms")
        if h["wrong_answers"] or r["wrong_counts"]:
            out(f"WRONG {r['built']['credentials']:,}: {h['wrong_answers']} wrong status answers; read model counts "
                f"(got, expected) {r['wrong_counts']}")
    out("")
    out(f"Paced client: {args.connections} keep-alive connections, {args.rounds} interleaved rounds of {args.seconds:g} s per "
        f"endpoint (medians), {args.workers} uvicorn workers per server, random ids among "
        f"{results[-1]['http']['ids']:,} sampled credentials. HAProxy {'plain HTTP, no TLS' if args.haproxy else 'not run'}.")
    out("The list figures and the slot ledger run in a fresh process each size; the catch-up in another.")
    out("Not measured: TLS termination at HAProxy; any verification of replicated credentials (their proofs are not")
    out("valid signatures); checkpoint lag (one checkpoint is signed right after the bulk load and covers every event).")
    out(f"{seconds / 60:.0f} min in all; {os.cpu_count()} CPUs shared with other work (the load averages above: HTTP")
    out(f"latencies include it, as do the hello-world's in the same rounds); 1-min load average at the end "
        f"{os.getloadavg()[0]:.1f}.")
    return "\n".join(lines), growth


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="credentials per size, comma-separated")
    p.add_argument("--real", type=int, default=400, help="credentials issued for real per size")
    p.add_argument("--rate", type=float, default=1000.0, help="offered requests/s")
    p.add_argument("--seconds", type=float, default=6.0, help="each paced run")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--warm-up", type=float, default=5.0, help="seconds of paced load per endpoint before the rounds")
    p.add_argument("--connections", type=int, default=32, help="the paced client's keep-alive connections")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-haproxy", dest="haproxy", action="store_false")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--output", type=Path, default=RESULTS / "scale.json")
    p.add_argument("--rebuild-child", nargs=2, metavar=("HOME", "URL"), help=argparse.SUPPRESS)
    p.add_argument("--lists-child", nargs=3, metavar=("HOME", "URL", "SLUG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s]
    if args.haproxy and not Path("/usr/sbin/haproxy").exists():
        print("no /usr/sbin/haproxy: measuring without it", file=sys.stderr)
        args.haproxy = False
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rebuild_child:
        return rebuild_child(*args.rebuild_child)
    if args.lists_child:
        return lists_child(*args.lists_child)
    from _report import machine, write_results
    from http_load import server

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop servers, clusters
    began = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-hello-") as tmp:
        hello_argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "--factory", "http_load:hello_app",
                      "--workers", str(args.workers), "--log-level", "warning", "--host", "127.0.0.1"]
        with server(hello_argv, dict(os.environ), "/", Path(tmp) / "hello.log") as hello_port:
            for size in args.sizes:
                results.append(one_size(size, hello_port, args))
    seconds = time.perf_counter() - began
    text, growth = report(results, args, seconds)
    print(text)
    # Run from an exported tree (git archive), the commit is given in SCALE_SOURCE_COMMIT.
    commit = os.environ.get("SCALE_SOURCE_COMMIT") or subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".txt").write_text(text + "\n")
    write_results(args.output, machine(commit=commit or "unknown", haproxy=shutil.which("haproxy") is not None),
                  settings={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                  sizes=results, growth=growth, seconds=round(seconds, 1))
    wrong = any(r["http"]["wrong_answers"] or r["wrong_counts"] for r in results)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
