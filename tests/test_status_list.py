"""W3C Bitstring Status List: the codec (against Digital Bazaar's JavaScript reference), the entry
every issued credential carries, unique random indexes (also under concurrent issuance), the signed
list credential regenerated from the revoked set, and `check_entry` against given lists."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.cli import main
from registry.commands import Actor, Award
from registry.domain import Credential, NotFound
from registry.domain.identity import issuer_id
from registry.domain.status_list import LIST_SIZE, StatusListSlot, status_slot_id
from registry.keystore import Keystore
from registry.vc import jsonld, proofs, schema
from registry.vc import status_list as sl
from registry.vc.errors import DocumentError
from registry.vc.multikey import decode_public_key
from registry.vc.openbadges import xsd_datetime

OPERATOR = Actor("test")
PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


# --- the codec -------------------------------------------------------------------------------------

def lcg(n: int, seed: int) -> list[int]:
    """Pseudo-random indexes, computed identically by the JavaScript (BigInt) script below."""
    x, out = seed, []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        out.append(x >> 47)
    return out


# encodedList values printed by @digitalbazaar/vc-bitstring-status-list 2.0.1 (bitstring 3.1.0,
# pako 2) under Node 20: `const l = await createList({length}); l.setStatus(i, true) ...;
# await l.encode()`. Long values are given by length and SHA-256.
JS_REFERENCE = [
    ([], 131072, "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"),
    ([0], 131072, "uH4sIAAAAAAAAA-3BIQEAAAACIKc73RkWoAEAAAAAAAAAAAAAAAAAAADeBuRZQ2cAQAAA"),
    ([7, 8, 15, 16], 131072, "uH4sIAAAAAAAAA-3BMQEAAAgDINdcmxtjD5DbAQAAAAAAAAAAAAAAAAAAALoeXdM1kwBAAAA"),
    ([131071], 131072, "uH4sIAAAAAAAAA-3BIQEAAAACIP1_2hkWIAEAAAAAAAAAAAAAAAAAAADOOhDiU9wAQAAA"),
]
JS_REFERENCE_DIGESTS = [
    ([(i * 2654435761) % 131072 for i in range(1000)], 131072, 424,
     "22093471b6d3e8f14c10765dbe4495c9221c997dbe4a63b2fcdf945cbf795e1f"),
    ([(i * 40503 + 17) % 131072 for i in range(10000)], 131072, 404,
     "89f115ae64b401f828849d9a47098936cac223f8a11a78d7e620b39e721c7f43"),
    (lcg(100, 2), 131072, 492, "5af4b09b9447f1a7035160a13f20fca463b605e716c753c9990b9998b9d7c0c9"),
    (lcg(10000, 1), 131072, 10456, "8a33120384a561bd08f0947c77e1fdd1e714c9da17e94f0aa9a8e332b1ec3ec7"),
    ([i * 2 for i in lcg(5000, 3)], 262144, 7660,
     "62e1efff1feef8c680f4d12900a2d93c6e3f057c9caea1c3165ee42766dfe99d"),
]


@pytest.mark.parametrize("indexes, size, expected", JS_REFERENCE)
def test_encoding_matches_the_javascript_reference_byte_for_byte(indexes, size, expected):
    assert sl.encode(indexes, size) == expected
    assert sl.set_indexes(sl.decode(expected)) == set(indexes)


@pytest.mark.parametrize("indexes, size, length, digest", JS_REFERENCE_DIGESTS)
def test_large_encodings_match_the_javascript_reference(indexes, size, length, digest):
    encoded = sl.encode(indexes, size)
    assert (len(encoded), hashlib.sha256(encoded.encode()).hexdigest()) == (length, digest)


def test_bit_zero_is_the_leftmost_bit_of_the_first_byte():
    bits = sl.bitstring([0, 9])
    assert bits[:2] == b"\x80\x40" and not any(bits[2:])
    assert sl.is_set(bits, 0) and sl.is_set(bits, 9) and not sl.is_set(bits, 1)
    # The gzip member is deflate level 6, mtime 0, OS byte 3, as pako writes it.
    member = base64.urlsafe_b64decode(sl.encode([0])[1:] + "==")
    assert member[:10] == bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3])
    assert gzip.decompress(member) == bytes(bits[:1]) + bytes(LIST_SIZE // 8 - 1)


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=LIST_SIZE - 1), max_size=300))
def test_decode_of_encode_is_the_set(indexes):
    assert sl.set_indexes(sl.decode(sl.encode(indexes))) == indexes


def _u(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("encoded, reason", [
    (12, "encodedList must be a string"),
    ("zH4sIAAAAAAAAA", "multibase base64url (prefix 'u'), got prefix 'z'"),
    ("uH4sI+AAA/AAA", "not base64url without padding"),
    ("uH4sIAAAAAAAAA==", "not base64url without padding"),
    ("uA", "not base64url without padding"),
    (_u(b"not gzip at all"), "not gzip-compressed"),
    (_u(gzip.compress(bytes(16384), mtime=0)[:-12]), "truncated gzip"),
    (_u(b"\x1f\x8b" + b"\x00" * 20), "not valid gzip"),
    (_u(gzip.compress(bytes(16383), mtime=0)), "has 131064 entries; at least 131072 are required"),
    (sl.encode([], 8), "has 8 entries; at least 131072 are required"),
])
def test_bad_encodings_are_refused_with_the_reason(encoded, reason):
    with pytest.raises(sl.StatusListError) as refused:
        sl.decode(encoded)
    assert reason in str(refused.value)


def test_a_python_gzip_member_decodes_too():
    # Python writes OS byte 255: a different but equally valid encoding of the same list.
    assert sl.set_indexes(sl.decode(_u(gzip.compress(bytes(sl.bitstring([5, 77])))))) == {5, 77}


def test_encoding_rejects_indexes_outside_the_list():
    with pytest.raises(sl.StatusListError, match="index 131072 is outside a list of 131072 entries"):
        sl.encode([LIST_SIZE])


# --- the registry ----------------------------------------------------------------------------------


@pytest.fixture
def registry(registry):
    """The registry (SQLite and PostgreSQL) with one hosted issuer, acme."""
    registry.commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    return registry


def badge(registry, name: str = "Teamwork") -> str:
    return registry.commands.achievements.define(issuer="acme", actor=OPERATOR, requires=[], definition={
        "name": name, "description": "Works well with others.", "criteria": {"narrative": "Observed."}}).id


def issue(registry, achievement: str, recipient: str = LEARNER_DID):
    return registry.commands.credentials.issue(Award(recipient, achievement), actor=OPERATOR)


def events_of(registry, cls) -> list:
    return list(registry.store.events_of(cls))


def list_url(registry, number: int = 1) -> str:
    return registry.settings.config.status_list_url("acme", number)


def active_key(registry):
    (key,) = [k for k in registry.queries.keys("acme") if k.state == "active"]
    return key


def check_status(registry, credential: dict, lists: dict[str, dict]) -> tuple[bool, str]:
    """(ok, reason) for the credential's status entry against list credentials a verifier holds,
    the lists' proofs counting only with keys the credential's issuer registered here."""
    issuer_ref = credential.get("issuer")
    did = issuer_ref.get("id") if isinstance(issuer_ref, dict) else issuer_ref
    issuer = registry.queries.issuer_of_did(did)
    assert issuer is not None, f"{did} is not registered here"
    registered = {k.verification_method: k.public_key_multibase for k in registry.queries.keys(issuer.id)}

    def resolve(vm: str) -> bytes | None:
        try:
            return decode_public_key(registered[vm]) if vm in registered else None
        except DocumentError:
            return None

    return sl.check_entry(credential, lists, resolve)


def verified_status(registry, credential: dict, lists: dict[str, dict]) -> tuple[str, str]:
    """(outcome, reason) of the status check when the registry verifies a copy of the credential it
    did not log (so a list credential the verifier holds answers, not the registry's records)."""
    copy = {**credential, "name": "a copy the registry never logged"}
    check = registry.queries.verify(copy, lists).find("status")
    assert check is not None
    return check.outcome, check.reason


def test_every_issued_credential_carries_one_revocation_entry(registry):
    written = issue(registry, badge(registry))
    status = written.document["credentialStatus"]
    index = int(status["statusListIndex"])
    url = f"{PUBLIC_URL}/status-lists/acme/1"
    assert status == {"id": f"{url}#{index}", "type": "BitstringStatusListEntry",
                      "statusPurpose": "revocation", "statusListIndex": str(index),
                      "statusListCredential": url}
    jsonld.assert_terms_defined(written.document)  # every term is signed, none dropped
    assert schema.check(written.document).ok and not schema.check(written.document).warnings
    assert registry.queries.verify(written.document).valid
    [issued] = [e for e in events_of(registry, Credential.Issued) if str(e.originator_id) == written.id]
    assert (issued.status_list, issued.status_list_index) == (url, index)
    [slot] = events_of(registry, StatusListSlot.Allocated)
    assert slot.originator_id == status_slot_id(issuer_id("acme"), "revocation", 1, index)
    assert (slot.list_number, slot.index, str(slot.credential_id)) == (1, index, written.id)


def test_indexes_are_never_handed_out_twice_also_within_a_batch(registry, monkeypatch):
    achievement = badge(registry)
    # A draw that repeats itself: the allocator must skip taken entries, in the store and in the batch.
    draws = iter([3, 3, 5, 3, 5, 9, 3, 5, 9, 11, 3, 5, 9, 11, 13])
    monkeypatch.setattr("registry.commands.status_lists.secrets.randbelow", lambda n: next(draws))
    first = issue(registry, achievement)
    batch = registry.commands.credentials.issue_batch(
        [Award(f"learner{i}@example.org", achievement) for i in range(4)], actor=OPERATOR)
    indexes = [int(d["credentialStatus"]["statusListIndex"]) for d in [first.document, *batch.documents]]
    assert indexes == [3, 5, 9, 11, 13]


def test_lists_roll_over_when_the_capacity_is_reached(registry):
    registry.commands.credentials.slots.capacity = 2
    achievement = badge(registry)
    urls = [issue(registry, achievement).document["credentialStatus"]["statusListCredential"] for _ in range(3)]
    batch = registry.commands.credentials.issue_batch(
        [Award(f"l{i}@example.org", achievement) for i in range(3)], actor=OPERATOR)
    urls += [d["credentialStatus"]["statusListCredential"] for d in batch.documents]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["1", "1", "2", "2", "3", "3"]
    # acme's lists are exactly 1, 2 and 3: each is published, a fourth is not.
    assert [registry.queries.status_list_exists(list_url(registry, n)) for n in (1, 2, 3, 4)] == [
        True, True, True, False]
    assert [registry.commands.status_lists.sign("acme", n)["id"] for n in (1, 2, 3)] == [
        list_url(registry, n) for n in (1, 2, 3)]
    with pytest.raises(NotFound, match="issuer acme has no status list 4"):
        registry.commands.status_lists.sign("acme", 4)


def test_concurrent_issuance_drawing_the_same_index_collides_and_retries(registry, open_registry, monkeypatch):
    """Two processes draw the same entry; the event store refuses the second slot, the loser's use
    case runs again and draws anew."""
    achievement = badge(registry)
    other = open_registry()
    lock = threading.Lock()
    draws = {"first": iter([42, 43]), "second": iter([42, 43])}
    monkeypatch.setattr("registry.commands.status_lists.secrets.randbelow",
                        lambda n: next(draws[threading.current_thread().name]))
    both_drawn = threading.Barrier(2, timeout=20)
    outcomes: dict[str, object] = {}

    def run(name: str, registry) -> None:
        store = registry.store
        commit, waiting = store.commit, [True]

        def gated(*aggregates):
            if waiting[0]:
                waiting[0] = False
                both_drawn.wait()
            return commit(*aggregates)

        store.commit = gated
        try:
            outcomes[name] = issue(registry, achievement, f"{name}@example.org")
        except Exception as exc:  # noqa: BLE001 - the test checks the outcome
            with lock:
                outcomes[name] = exc

    threads = [threading.Thread(target=run, name=n, args=(n, r)) for n, r in (("first", registry), ("second", other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    indexes = sorted(int(o.document["credentialStatus"]["statusListIndex"]) for o in outcomes.values())
    assert indexes == [42, 43]
    assert sorted(e.index for e in events_of(registry, StatusListSlot.Allocated)) == [42, 43]


def test_the_list_decodes_to_exactly_the_revoked_set(registry):
    achievement = badge(registry)
    written = [issue(registry, achievement) for _ in range(6)]
    index = {w.id: int(w.document["credentialStatus"]["statusListIndex"]) for w in written}
    credentials = registry.commands.credentials
    credentials.revoke(written[0].id, reason="fraud", actor=OPERATOR)
    credentials.revoke(written[3].id, reason="error", actor=OPERATOR)
    credentials.suspend(written[1].id, reason="inquiry", actor=OPERATOR)  # answered by the registry, not listed
    issuer = registry.queries.issuer("acme")
    assert registry.queries.revoked_indexes(list_url(registry)) == {index[written[0].id], index[written[3].id]}
    document = registry.commands.status_lists.sign("acme")
    subject = document["credentialSubject"]
    assert document["id"] == f"{PUBLIC_URL}/status-lists/acme/1" and document["issuer"] == issuer.did
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert subject == {"id": f"{document['id']}#list", "type": "BitstringStatusList",
                       "encodedList": sl.encode({index[written[0].id], index[written[3].id]}),
                       "statusPurpose": "revocation"}
    key = active_key(registry)
    assert proofs.verify(document, lambda vm: decode_public_key(key.public_key_multibase)
                         if vm == key.verification_method else None).ok
    lists = {document["id"]: document}
    revoked_reason = f"revocation: entry {index[written[0].id]} of {document['id']} is set"
    assert check_status(registry, written[0].document, lists) == (False, revoked_reason)
    assert verified_status(registry, written[0].document, lists) == ("fail", revoked_reason)
    ok, reason = check_status(registry, written[1].document, lists)  # suspended: not in the list
    assert ok and reason.startswith("not revoked")
    assert verified_status(registry, written[1].document, lists) == ("pass", reason)


def test_the_signed_list_is_cached_until_a_revocation_changes_it(registry, open_registry, clock):
    written = issue(registry, badge(registry))
    other = open_registry()  # a second process on the same store
    first = registry.commands.status_lists.sign("acme")
    assert other.commands.status_lists.sign("acme")["credentialSubject"] == first["credentialSubject"]
    clock.now = datetime(2031, 1, 1, tzinfo=timezone.utc)
    assert registry.commands.status_lists.sign("acme") == first  # same proof: not re-signed
    other.commands.credentials.revoke(written.id, reason="fraud", actor=OPERATOR)
    second = registry.commands.status_lists.sign("acme")  # the revocation is read from the log
    assert second["validFrom"] == "2031-01-01T00:00:00Z" and second["proof"] != first["proof"]
    assert registry.queries.revoked_indexes(list_url(registry)) == {
        int(written.document["credentialStatus"]["statusListIndex"])}


def test_an_unknown_list_is_refused(registry):
    with pytest.raises(NotFound, match="issuer acme has no status list 2"):
        registry.commands.status_lists.sign("acme", 2)


def test_version_1_issued_events_still_decode(registry):
    written = issue(registry, badge(registry))
    store = registry.store
    [notification] = [n for n in store.recorder.select_notifications(start=1, limit=100)
                      if n.topic.endswith("Credential.Issued")]
    state = json.loads(notification.state)
    for newer in ("status_list", "status_list_index", "class_version"):
        del state[newer]
    old = type(notification)(id=notification.id, originator_id=notification.originator_id,
                             originator_version=1, topic=notification.topic,
                             state=json.dumps(state).encode())
    event = store.mapper.to_domain_event(old)
    assert (event.status_list, event.status_list_index) == (None, None)
    assert str(event.originator_id) == written.id


# --- check_entry against given lists -----------------------------------------------------------------


@pytest.fixture
def revoked(registry):
    written = issue(registry, badge(registry))
    registry.commands.credentials.revoke(written.id, reason="fraud", actor=OPERATOR)
    return registry, written.document, registry.commands.status_lists.sign("acme")


def _signed_list(registry, clock, encoded: str, **changes) -> dict:
    issuer = registry.queries.issuer("acme")
    key = active_key(registry)
    keystore = Keystore(registry.settings.keys_dir)  # the registry's keystore (REGISTRY_KEYS)
    document = sl.status_list_credential(f"{PUBLIC_URL}/status-lists/acme/1", issuer.did, encoded,
                                         valid_from=xsd_datetime(clock()))
    document.update(changes)
    return proofs.sign(document, keystore.signer(key.public_key_multibase, key.verification_method))


def test_check_entry_reasons(revoked, clock):
    registry, credential, document = revoked
    url = document["id"]
    index = credential["credentialStatus"]["statusListIndex"]
    tampered = json.loads(json.dumps(document))
    tampered["credentialSubject"]["encodedList"] = sl.encode([])
    cases = [
        ({}, f"status list {url} was not given"),
        ({url: tampered}, f"the proof of {url} does not verify"),
        ({url: _signed_list(registry, clock, sl.encode([], 65536))}, "has 65536 entries; at least 131072 are required"),
        ({url: _signed_list(registry, clock, "zNotBase64url")}, "(prefix 'u'), got prefix 'z'"),
        ({url: _signed_list(registry, clock, sl.encode([]), issuer="did:web:elsewhere.example")},
         "is issued by 'did:web:elsewhere.example'"),
        ({url: {**document, "type": ["VerifiableCredential"]}}, "is not a BitstringStatusListCredential"),
    ]
    for lists, reason in cases:
        ok, said = check_status(registry, credential, lists)
        assert not ok and reason in said, (reason, said)
        if lists:  # the registry's verification asks the given list the same way
            assert verified_status(registry, credential, lists) == ("fail", said)
    # A list that names itself by another URL is not verifiably the one the credential refers to:
    # its bit proves nothing either way.
    elsewhere = {url: {**document, "id": "https://other.example/list"}}
    ok, said = check_status(registry, credential, elsewhere)
    assert not ok and f"the status list at {url} names itself 'https://other.example/list'" in said
    assert verified_status(registry, credential, elsewhere) == ("indeterminate", f"status unknown: {said}")
    # Given no list, the registry answers for a list it publishes from its own records.
    assert verified_status(registry, credential, {}) == ("fail", f"revocation: entry {index} of {url} is set")
    clear = {url: _signed_list(registry, clock, sl.encode([]))}
    assert check_status(registry, credential, clear) == (True, f"not revoked: entry {index} of {url} is clear")
    assert verified_status(registry, credential, clear) == ("pass", f"not revoked: entry {index} of {url} is clear")
    assert check_status(registry, credential, {url: document})[0] is False
    without = {k: v for k, v in credential.items() if k != "credentialStatus"}
    assert check_status(registry, without, {}) == (True, "the credential has no credentialStatus")
    two = {**credential, "credentialStatus": [credential["credentialStatus"]] * 2}
    assert "must be exactly one entry (OB 3.0 allows one)" in check_status(registry, two, {url: document})[1]
    assert "must be exactly one entry (OB 3.0 allows one)" in verified_status(registry, two, {url: document})[1]


# --- the command line --------------------------------------------------------------------------------


def test_cli_prints_the_signed_list_and_verify_takes_lists(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, value in {"REGISTRY_HOME": tmp_path / "data", "REGISTRY_KEYS": tmp_path / "keys",
                        "REGISTRY_KEYSTORE_PASSPHRASE": "secret", "REGISTRY_PUBLIC_URL": PUBLIC_URL}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)

    def run(*argv) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    assert run("issuer", "register", "--slug", "acme", "--name", "Acme")[0] == 0
    achievement = run("achievement", "define", "--issuer", "acme", "--name", "Teamwork",
                      "--description", "d", "--criteria", "c")[1].strip()
    credential = run("issue", "--achievement", achievement, "--recipient", LEARNER_DID,
                     "--out", tmp_path / "c.json")[1].strip()
    run("revoke", credential, "--reason", "fraud")
    code, out, _ = run("status-list", "acme", "--out", tmp_path / "list.json")
    document = json.loads(out)
    assert code == 0 and document["type"][1] == "BitstringStatusListCredential"
    assert json.loads((tmp_path / "list.json").read_text()) == document
    # Each command is a new process: the signed-list cache lives in the process, so compare the list.
    again = json.loads(run("status-list", "acme", "--json")[1])
    assert again["credentialSubject"] == document["credentialSubject"]
    assert len(sl.set_indexes(sl.decode(document["credentialSubject"]["encodedList"]))) == 1
    code, out, err = run("status-list", "acme", "--list", "2")
    assert (code, out, err) == (2, "", "registry: issuer acme has no status list 2\n")
    code, out, _ = run("verify", tmp_path / "c.json", "--status-list", tmp_path / "list.json")
    assert code == 1 and "revoked" in out


@pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])
def test_a_new_process_starts_the_slot_ledger_from_its_snapshot(registry, open_registry, monkeypatch):
    """Not from the first allocation ever logged: from the latest snapshot and what was logged since,
    and with exactly the entries a full replay finds."""
    from registry.commands.status_lists import StatusListSlots

    monkeypatch.setattr(StatusListSlots, "snapshot_every", 5)
    achievement = badge(registry)
    for n in range(12):
        issue(registry, achievement, recipient=f"l{n}@example.org")
    saved, lists = registry.slot_snapshots.load()
    assert saved > 0 and lists  # the first process wrote one
    other = open_registry()  # another process on the same store
    reads = []
    original = other.store.events_of

    def events_of(*kinds, after=0, stop=None):
        reads.append(after)
        return original(*kinds, after=after, stop=stop)

    monkeypatch.setattr(other.store, "events_of", events_of)
    issue(other, achievement, recipient="new@example.org")
    assert reads and reads[0] >= saved  # the replay began at the snapshot, not at 0
    ledger = other.commands.credentials.slots
    ledger._catch_up()  # it learns of its own last allocation when it next allocates: now
    replayed = StatusListSlots(other.store, other.settings.config)  # no snapshots: every allocation
    replayed._catch_up()
    assert {k: bytes(v) for k, v in ledger.allocated.items()} == {k: bytes(v) for k, v in replayed.allocated.items()}
    assert dict(ledger.counts) == dict(replayed.counts) and sum(replayed.counts.values()) == 13
