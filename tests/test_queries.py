"""The read side's door (registry.projections.Queries): keyset pages that list every item once,
in log order, at the same cost wherever they are; one way of naming organisations; verification
that reads the facts and signs nothing; read models that move to a new layout by themselves."""

from __future__ import annotations

import json

import pytest

from registry.commands import Actor, Award
from registry.domain import NotFound
from registry.errors import InputError
from registry.keystore import Keystore
from registry.projections import PROJECTIONS, ReadStoreError

OPERATOR = Actor("test")
LEARNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def definition(name: str) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}}


def walk(list_page, size: int, positional: bool = True) -> list:
    items, cursor, pages = [], None, 0
    while True:
        page = list_page(cursor, size)
        pages += 1
        assert len(page.items) <= size
        items += page.items
        if page.next_cursor is None:
            return items
        assert page.next_cursor.isdigit() or not positional
        cursor = page.next_cursor
        assert pages < 1000


def test_pages_list_every_item_once_in_log_order_and_new_items_at_the_end(registry):
    commands, queries = registry.commands, registry.queries
    for n in range(7):
        commands.issuers.register(slug=f"org-{n}", name=f"Organisation {6 - n}", actor=OPERATOR)
        commands.achievements.define(issuer=f"org-{n}", definition=definition(f"Course {n}"), actor=OPERATOR)
    issuers = walk(lambda after, size: queries.issuers(after=after, limit=size), 3)
    assert [i.slug for i in issuers] == [f"org-{n}" for n in range(7)]
    positions = [i.position for i in issuers]
    assert positions == sorted(positions) and len(set(positions)) == 7

    # A page's cursor stays valid while items are added: they come after, never in between.
    first = queries.issuers(limit=3)
    commands.issuers.register(slug="late", name="Late", actor=OPERATOR)
    rest = walk(lambda after, size: queries.issuers(after=after or first.next_cursor, limit=size), 3)
    assert [i.slug for i in first.items + rest] == [*(f"org-{n}" for n in range(7)), "late"]

    achievements = walk(lambda after, size: queries.achievements(after=after, limit=size), 2)
    assert [a.name for a in achievements] == [f"Course {n}" for n in range(7)]
    assert [a.issuer for a in achievements] == [f"org-{n}" for n in range(7)]
    mine = walk(lambda after, size: queries.achievements(issuer="org-3", after=after, limit=size), 1)
    assert [a.name for a in mine] == ["Course 3"]

    # People read organisations alphabetically: names "Organisation 6" .. "Organisation 0", then Late.
    by_name = walk(lambda after, size: queries.issuers_by_name(after=after, limit=size), 2, positional=False)
    assert [i.slug for i in by_name] == ["late", *(f"org-{n}" for n in range(6, -1, -1))]


def test_endorsement_pages_and_filters(registry):
    commands, queries = registry.commands, registry.queries
    for slug in ("acme", "partner", "other"):
        commands.issuers.register(slug=slug, name=slug.title(), actor=OPERATOR)
    course = commands.achievements.define(issuer="acme", definition=definition("Teamwork"), actor=OPERATOR).id
    given = [commands.endorsements.endorse(by=by, subject=subject, comment=f"{by} on {subject}", actor=OPERATOR).id
             for by, subject in (("partner", "acme"), ("other", "acme"), ("partner", course), ("acme", "other"))]
    every = walk(lambda after, size: queries.endorsements(after=after, limit=size), 3)
    assert [e.id for e in every] == given
    received = queries.endorsements(received_by="acme").items
    assert [e.id for e in received] == given[:3]
    assert [e.subject_name for e in received] == ["Acme", "Acme", "Teamwork"]
    assert [e.id for e in queries.endorsements(of="acme", by="partner").items] == given[:1]
    assert [e.endorser_name for e in queries.endorsements(of=course).items] == ["Partner"]


def test_organisations_are_named_the_same_way_by_every_query(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    found = registry.queries.issuer("acme")
    for ref in ("acme", found.id, f"urn:uuid:{found.id}", found.did, f" {found.did} "):
        assert registry.queries.issuer(ref).slug == "acme"
        assert [k.state for k in registry.queries.keys(ref)] == ["active"]
    with pytest.raises(NotFound):
        registry.queries.issuer("did:web:elsewhere.example")


@pytest.mark.parametrize("cursor", ["abc", "-1", "1" * 16, "１"])
def test_a_cursor_the_registry_never_handed_out_is_refused(registry, cursor):
    with pytest.raises(InputError) as refused:
        registry.queries.issuers(after=cursor)
    assert refused.value.field == "cursor"


def test_a_page_holds_1_to_1000_items(registry):
    for limit in (0, 1001):
        with pytest.raises(InputError) as refused:
            registry.queries.achievements(limit=limit)
        assert refused.value.field == "limit"


class CountingCustody:
    """The file keystore, counting signatures."""

    def __init__(self, keystore: Keystore) -> None:
        self.keystore = keystore
        self.signatures = 0

    def generate(self):
        return self.keystore.generate()

    def holds(self, key):
        return self.keystore.holds(key)

    def recipient_reference(self, email):
        return self.keystore.recipient_reference(email)

    def signer(self, key, verification_method):
        inner = self.keystore.signer(key, verification_method)
        custody = self

        class Counted:
            def sign(self, data: bytes) -> bytes:
                custody.signatures += 1
                return inner.sign(data)

        counted = Counted()
        counted.verification_method = verification_method
        return counted


def test_verification_reads_the_facts_and_signs_nothing(open_registry, tmp_path):
    custody = CountingCustody(Keystore(tmp_path / "keys"))
    registry = open_registry(custody=custody)
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    course = registry.commands.achievements.define(issuer="acme", definition=definition("Teamwork"), actor=OPERATOR)
    issued = [registry.commands.credentials.issue(Award(LEARNER, course.id), actor=OPERATOR) for _ in range(2)]
    registry.commands.credentials.revoke(issued[0].id, reason="issued in error", actor=OPERATOR)
    signed = custody.signatures

    # The exact logged documents: status from the credentials projection.
    assert registry.queries.verify(issued[0].document).find("status").outcome == "fail"
    assert registry.queries.verify(issued[1].document).valid
    # A copy that differs from the logged one (its proof then fails too): its status entry is read
    # from the revoked entries the registry's own list is made of, not by signing that list.
    for written, revoked in ((issued[0], True), (issued[1], False)):
        changed = json.loads(json.dumps(written.document))
        changed["name"] = "Something else"
        report = registry.queries.verify(changed)
        status = report.find("status")
        assert (status.outcome == "fail") is revoked, status
        assert ("entry" in status.reason) and not report.valid
    assert custody.signatures == signed


def test_a_read_model_of_an_older_layout_is_rebuilt_when_the_owner_prepares_it(registry, open_registry, raw_db):
    registry.commands.issuers.register(slug="acme", name="Acme", url="https://acme.example", actor=OPERATOR)
    assert registry.queries.issuer("acme").url == "https://acme.example"
    # As a registry of before this layout left it: the directory at version 1, without its new
    # columns, and a positions table without the version column.
    raw_db.execute("DROP TABLE issuers")
    raw_db.execute("CREATE TABLE issuers (id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, did TEXT NOT NULL"
                   " UNIQUE, name TEXT NOT NULL, hosted BOOLEAN NOT NULL, registered_at TEXT NOT NULL,"
                   " deactivated_at TEXT NULL)")
    raw_db.execute("CREATE TABLE old_positions AS SELECT name, position FROM projection_positions")
    raw_db.execute("DROP TABLE projection_positions")
    raw_db.execute("CREATE TABLE projection_positions (name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
    raw_db.execute("INSERT INTO projection_positions SELECT name, position FROM old_positions")
    raw_db.execute("DROP TABLE old_positions")

    # An application role without DDL rights is told what to run, not left answering wrongly.
    with pytest.raises(ReadStoreError, match="registry init"):
        open_registry(REGISTRY_CREATE_TABLES="false")

    reopened = open_registry()  # with DDL rights: the directory is rebuilt from the log
    assert reopened.queries.issuer("acme").url == "https://acme.example"
    versions = dict(raw_db.execute("SELECT name, version FROM projection_positions"))
    assert versions == {p.name: p.version for p in PROJECTIONS}
    assert reopened.init() == []  # nothing left to rebuild


def test_profile_updates_and_deactivation_reach_the_read_side_and_stop_issuing(registry):
    commands, queries = registry.commands, registry.queries
    commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    course = commands.achievements.define(issuer="acme", definition=definition("Teamwork"), actor=OPERATOR).id
    early = commands.credentials.issue(Award(LEARNER, course), actor=OPERATOR)

    acme = Actor("api:acme", issuer="acme")
    commands.issuers.update_profile("acme", name="Acme Academy", email="info@acme.example", actor=acme)
    found = queries.issuer("acme")
    assert (found.name, found.email, found.url) == ("Acme Academy", "info@acme.example", None)
    assert queries.profile("acme")["name"] == "Acme Academy"
    later = commands.credentials.issue(Award(LEARNER, course), actor=OPERATOR)
    assert later.document["issuer"]["name"] == "Acme Academy"
    assert early.document["issuer"]["name"] == "Acme"  # what was signed keeps what it said

    commands.issuers.register(slug="other", name="Other", actor=OPERATOR)
    with pytest.raises(NotFound.__mro__[1]):  # NotAuthorised is a DomainError
        commands.issuers.deactivate("other", reason="not yours", actor=acme)
    commands.issuers.deactivate("acme", reason="merged into Other", actor=acme)
    assert queries.issuer("acme").deactivation_reason == "merged into Other"
    assert all(k.state == "retired" for k in queries.keys("acme"))
    with pytest.raises(NotFound.__mro__[1]):
        commands.credentials.issue(Award(LEARNER, course), actor=OPERATOR)
    # Signed while it was active: still valid.
    assert queries.verify(early.document).valid


def test_verification_says_whether_the_credential_was_issued_to_a_recipient(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    course = registry.commands.achievements.define(issuer="acme", definition=definition("Teamwork"), actor=OPERATOR).id
    by_mail = registry.commands.credentials.issue(Award("Ada@Example.org", course), actor=OPERATOR).document
    by_did = registry.commands.credentials.issue(Award(LEARNER, course), actor=OPERATOR).document
    assert registry.queries.verify(by_mail).find("recipient") is None  # asked only when given
    for document, recipient, outcome in ((by_mail, "ada@example.org", "pass"), (by_mail, "bob@example.org", "fail"),
                                         (by_did, LEARNER, "pass"), (by_did, "ada@example.org", "fail"),
                                         (by_mail, LEARNER, "fail")):
        report = registry.queries.verify(document, recipient=recipient)
        assert report.find("recipient").outcome == outcome, (recipient, report.find("recipient"))
        assert report.valid is (outcome == "pass")


def test_an_achievement_that_would_not_conform_to_ob_3_is_refused_before_anything_is_stored(registry):
    from registry.vc.errors import DocumentError

    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    before = registry.queries.last_position()
    broken = {**definition("Teamwork"), "alignment": [{"targetName": "Collaboration"}]}  # no targetUrl
    with pytest.raises(DocumentError, match="does not conform to OB 3.0"):
        registry.commands.achievements.define(issuer="acme", definition=broken, actor=OPERATOR)
    assert registry.queries.last_position() == before
    fine = {**definition("Teamwork"), "alignment": [{"type": ["Alignment"], "targetName": "Collaboration",
                                                      "targetUrl": "https://framework.example/c/1"}]}
    registry.commands.achievements.define(issuer="acme", definition=fine, actor=OPERATOR)
