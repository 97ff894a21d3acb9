"""Trust: the shortest chain of standing endorsements (search over an in-memory adjacency, then the
use cases on SQLite and PostgreSQL), trust anchors, and `registry trust ...`."""

from __future__ import annotations

import json
import random
from collections import deque
from contextlib import contextmanager
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from registry.cli import main
from registry.commands import Actor, Award
from registry.domain import Achievement, AlreadyExists, DomainError, Endorsement, NotFound
from registry.projections.endorsements import Edges
from registry.trust import Link, MemoryEdges, shortest_chain

ACTOR = Actor("test")  # the registry's operator
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def n(number: int) -> UUID:
    """Node ids whose sort order is their number: tie-breaking is checkable."""
    return UUID(int=number)


def graph(*edges: tuple[int, int] | tuple[int, int, str]) -> MemoryEdges:
    return MemoryEdges((n(e[0]), n(e[1]), e[2] if len(e) == 3 else f"e{e[0]}-{e[1]}") for e in edges)


def nodes(links: list[Link], start: UUID) -> list[int]:
    path = [start]
    for link in links:
        assert link.endorser_id == path[-1], "links do not join up"
        path.append(link.subject_id)
    return [p.int for p in path]


# --- the search, over an in-memory adjacency ----------------------------------------------------


def test_the_shortest_chain_wins_over_a_longer_one():
    edges = graph((1, 2), (2, 3), (3, 4), (4, 5), (1, 6), (6, 5))
    assert nodes(shortest_chain(edges, [n(1)], n(5), 6), n(1)) == [1, 6, 5]
    assert nodes(shortest_chain(edges, [n(1)], n(4), 6), n(1)) == [1, 2, 3, 4]


def test_direction_matters():
    edges = graph((1, 2))
    assert shortest_chain(edges, [n(2)], n(1), 6) is None
    assert [l.endorsement_ids for l in shortest_chain(edges, [n(1)], n(2), 6)] == [("e1-2",)]


def test_depth_limit_is_exact():
    edges = graph((1, 2), (2, 3), (3, 4), (4, 5))
    assert shortest_chain(edges, [n(1)], n(5), 3) is None
    assert nodes(shortest_chain(edges, [n(1)], n(5), 4), n(1)) == [1, 2, 3, 4, 5]
    assert shortest_chain(edges, [n(1)], n(2), 1) is not None


def test_cycles_end_the_search():
    edges = graph((1, 2), (2, 3), (3, 1), (3, 4), (4, 3), (5, 6))
    assert nodes(shortest_chain(edges, [n(1)], n(4), 10), n(1)) == [1, 2, 3, 4]
    assert shortest_chain(edges, [n(1)], n(6), 10) is None
    assert shortest_chain(edges, [n(4)], n(6), 10) is None


def test_parallel_edges_are_one_hop_with_all_their_endorsements():
    edges = graph((1, 2, "b"), (1, 2, "a"), (2, 3, "c"))
    links = shortest_chain(edges, [n(1)], n(3), 6)
    assert [l.endorsement_ids for l in links] == [("a", "b"), ("c",)]


def test_ties_are_broken_by_the_smallest_ids_whatever_the_insertion_order():
    pairs = [(1, 3), (1, 2), (3, 4), (2, 4), (4, 5)]
    for _ in range(10):
        random.shuffle(pairs)
        assert nodes(shortest_chain(graph(*pairs), [n(1)], n(5), 6), n(1)) == [1, 2, 4, 5]


def test_self_endorsement_through_an_achievement_is_no_edge():
    edges = graph((1, 1), (1, 2))
    assert edges.edge_count == 1
    assert nodes(shortest_chain(edges, [n(1)], n(2), 6), n(1)) == [1, 2]


def test_several_sources_and_a_target_that_is_one_of_them():
    edges = graph((1, 2), (2, 3), (3, 4), (7, 4))
    assert nodes(shortest_chain(edges, [n(1), n(7)], n(4), 6), n(7)) == [7, 4]
    assert shortest_chain(edges, [n(1), n(4)], n(4), 6) == []
    assert shortest_chain(edges, [], n(4), 6) is None


def bfs_distance(edges: MemoryEdges, source: UUID, target: UUID) -> int | None:
    seen, queue = {source: 0}, deque([source])
    while queue:
        node = queue.popleft()
        if node == target:
            return seen[node]
        for neighbour, _ in edges.out.get(node, []):
            if neighbour not in seen:
                seen[neighbour] = seen[node] + 1
                queue.append(neighbour)
    return None


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_a_plain_breadth_first_search_on_random_graphs(seed):
    rng = random.Random(seed)
    size = 60
    edges = graph(*[(rng.randrange(size), rng.randrange(size)) for _ in range(150)])
    for _ in range(200):
        source, target = n(rng.randrange(size)), n(rng.randrange(size))
        expected = bfs_distance(edges, source, target)
        for depth in (2, 4, 10):
            links = shortest_chain(edges, [source], target, depth)
            if expected is None or expected > depth:
                assert links is None
            else:
                assert len(links) == expected
                path = nodes(links, source)
                assert path[-1] == target.int
                for link in links:  # every hop is a real edge, with exactly its endorsements
                    ids = sorted(e for v, e in edges.out[link.endorser_id] if v == link.subject_id)
                    assert list(link.endorsement_ids) == ids


# --- the use cases, on SQLite and PostgreSQL ----------------------------------------------------


@contextmanager
def nothing_stored(registry):
    before = registry.store.max_position()
    yield
    assert registry.store.max_position() == before, "a refused command stored events"


def define(registry, name: str, issuer: str) -> str:
    definition = {"name": name, "description": f"The holder shows {name.lower()}.",
                  "criteria": {"narrative": f"Assessed on {name.lower()}."}}
    return registry.commands.achievements.define(issuer=issuer, actor=ACTOR, definition=definition,
                                                 requires=[]).id


def issue(registry, recipient: str, achievement: str):
    return registry.commands.credentials.issue(Award(recipient, achievement), actor=ACTOR)


@pytest.fixture
def app(registry):
    for slug in ("acme", "partner", "consortium", "ministry", "loner"):
        registry.commands.issuers.register(slug=slug, name=slug.title(), actor=ACTOR)
    return registry


def endorse(app, by: str, subject: str) -> str:
    return app.commands.endorsements.endorse(by=by, subject=subject, comment=f"{by} vouches for {subject}",
                                             actor=ACTOR).id


def withdraw(app, endorsement: str) -> None:
    app.commands.endorsements.withdraw(endorsement, reason="ended", actor=ACTOR)


def endorsement(app, endorsement_id: str):
    """The read side's view of one endorsement (given_at, withdrawn_at, ...)."""
    found = [e for e in app.queries.endorsements().items if e.id == endorsement_id]
    assert len(found) == 1, endorsement_id
    return found[0]


def instant(text: str) -> datetime:
    """A view's time (ISO 8601 UTC text with microseconds) as an aware datetime."""
    when = datetime.fromisoformat(text)
    assert when.utcoffset() == timedelta(0), text
    return when


def chain(hops) -> list[str] | None:
    return None if hops is None else [hops[0].endorser, *[h.subject for h in hops]] if hops else []


def test_paths_follow_standing_endorsements_as_of_any_instant(app):
    q = app.queries
    first = endorse(app, "acme", "partner")
    endorse(app, "partner", "consortium")
    endorse(app, "consortium", "ministry")
    shortcut = endorse(app, "acme", "consortium")
    assert chain(q.trust_path("acme", "ministry")) == ["acme", "consortium", "ministry"]
    assert chain(q.trust_path("partner", "ministry")) == ["partner", "consortium", "ministry"]
    assert q.trust_path("ministry", "acme") is None
    assert q.trust_path("acme", "loner") is None
    assert q.trust_path("acme", "acme") == []

    withdraw(app, shortcut)
    hops = q.trust_path("acme", "ministry")
    assert chain(hops) == ["acme", "partner", "consortium", "ministry"]
    assert hops[0].endorsements == [first]
    assert q.trust_path("acme", "ministry", max_depth=2) is None

    withdraw(app, first)
    assert q.trust_path("acme", "ministry") is None
    withdrawn_at = instant(endorsement(app, first).withdrawn_at)
    before = q.trust_path("acme", "ministry", at=withdrawn_at - timedelta(microseconds=1))
    assert chain(before) == ["acme", "partner", "consortium", "ministry"]
    assert q.trust_path("acme", "ministry", at=withdrawn_at) is None
    given_at = instant(endorsement(app, first).given_at)
    assert q.trust_path("acme", "partner", at=given_at - timedelta(microseconds=1)) is None
    assert chain(q.trust_path("acme", "partner", at=given_at)) == ["acme", "partner"]


def test_cycles_and_the_depth_limit(app):
    q = app.queries
    for by, subject in (("acme", "partner"), ("partner", "consortium"), ("consortium", "acme"),
                        ("consortium", "ministry")):
        endorse(app, by, subject)
    assert chain(q.trust_path("partner", "ministry")) == ["partner", "consortium", "ministry"]
    assert chain(q.trust_path("acme", "ministry", max_depth=3)) == [
        "acme", "partner", "consortium", "ministry"]
    assert q.trust_path("acme", "ministry", max_depth=2) is None
    assert q.trust_path("partner", "loner", max_depth=10) is None
    with pytest.raises(DomainError, match="between 1 and 10"):
        q.trust_path("acme", "ministry", max_depth=11)
    with pytest.raises(DomainError, match="between 1 and 10"):
        q.trust_path("acme", "ministry", max_depth=0)
    with pytest.raises(NotFound, match="nobody"):
        q.trust_path("acme", "nobody")


def test_an_achievement_endorsement_counts_a_credential_endorsement_does_not(app):
    q = app.queries
    badge = define(app, "Teamwork", issuer="consortium")
    credential = issue(app, LEARNER_DID, badge).id
    endorse(app, "acme", credential)
    assert q.trust_path("acme", "consortium") is None
    by_badge = endorse(app, "acme", badge)
    hops = q.trust_path("acme", "consortium")
    assert chain(hops) == ["acme", "consortium"] and hops[0].endorsements == [by_badge]
    by_issuer = endorse(app, "acme", "consortium")
    assert q.trust_path("acme", "consortium")[0].endorsements == sorted([by_badge, by_issuer])
    # An issuer endorsing its own achievement vouches for nobody else.
    endorse(app, "consortium", badge)
    assert q.trust_path("consortium", "acme") is None


def test_issuers_are_named_by_slug_id_or_did(app):
    endorse(app, "acme", "partner")
    partner = app.queries.issuer("partner")
    for ref in ("partner", str(partner.id), f"urn:uuid:{partner.id}", partner.did):
        assert chain(app.queries.trust_path("acme", ref)) == ["acme", "partner"]
    with pytest.raises(NotFound):
        app.queries.trust_path("acme", "did:web:nowhere.example")


def test_anchors_add_list_remove_with_refusals(app):
    q, trust = app.queries, app.commands.trust
    assert q.trust_anchors() == []
    first = trust.add_anchor("ministry", actor=ACTOR)
    trust.add_anchor("acme", actor=ACTOR)
    assert [a.slug for a in q.trust_anchors()] == ["acme", "ministry"]
    assert first.id == str(q.issuer("ministry").id)
    with nothing_stored(app):
        with pytest.raises(AlreadyExists, match="ministry is already a trust anchor"):
            trust.add_anchor("ministry", actor=ACTOR)
        with pytest.raises(NotFound, match="nobody"):
            trust.add_anchor("nobody", actor=ACTOR)
        with pytest.raises(NotFound, match="partner is not a trust anchor"):
            trust.remove_anchor("partner", reason="x", actor=ACTOR)
        with pytest.raises(DomainError, match="needs a reason"):
            trust.remove_anchor("acme", reason=" ", actor=ACTOR)
    added = instant(q.trust_anchors()[0].added_at)
    trust.remove_anchor("acme", reason="no longer trusted", actor=ACTOR)
    assert [a.slug for a in q.trust_anchors()] == ["ministry"]
    assert [a.slug for a in q.trust_anchors(at=added)] == ["acme", "ministry"]
    trust.add_anchor("acme", actor=ACTOR)  # again, after removal
    assert [a.slug for a in q.trust_anchors()] == ["acme", "ministry"]


def test_removing_before_any_anchor_and_a_fresh_store(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=ACTOR)
    with nothing_stored(registry), pytest.raises(NotFound, match="acme is not a trust anchor"):
        registry.commands.trust.remove_anchor("acme", reason="x", actor=ACTOR)


def test_chain_from_anchors(app):
    q = app.queries
    assert q.chain_from_anchors("ministry") is None  # no anchors at all
    app.commands.trust.add_anchor("ministry", actor=ACTOR)
    app.commands.trust.add_anchor("loner", actor=ACTOR)
    assert q.chain_from_anchors("ministry") == []
    assert q.chain_from_anchors("acme") is None
    endorse(app, "ministry", "consortium")
    link = endorse(app, "consortium", "acme")
    assert chain(q.chain_from_anchors("acme")) == ["ministry", "consortium", "acme"]
    assert chain(q.chain_from_anchors(q.issuer("acme").id)) == ["ministry", "consortium", "acme"]
    assert q.chain_from_anchors("acme", max_depth=1) is None
    withdraw(app, link)
    assert q.chain_from_anchors("acme") is None
    withdrawn_at = instant(endorsement(app, link).withdrawn_at)
    assert chain(q.chain_from_anchors("acme", withdrawn_at - timedelta(microseconds=1))) == [
        "ministry", "consortium", "acme"]
    # Anchors count as of the instant too: before ministry was an anchor, nothing reached acme.
    anchored_at = instant(q.trust_anchors()[1].added_at)
    assert q.trust_anchors()[1].slug == "ministry"
    assert q.chain_from_anchors("acme", anchored_at - timedelta(microseconds=1)) is None


def edges_from_log(app, at=None) -> MemoryEdges:
    """The reference: standing edges straight from the event log, by a full scan."""
    achievement_issuer, given, withdrawn = {}, {}, {}
    for event in app.store.events_of(Achievement.Defined, Endorsement.Endorsed, Endorsement.Withdrawn):
        if isinstance(event, Achievement.Defined):
            achievement_issuer[event.originator_id] = event.issuer_id
        elif isinstance(event, Endorsement.Withdrawn):
            withdrawn[event.originator_id] = event.timestamp
        elif event.subject_kind != "credential":
            subject = (event.subject_id if event.subject_kind == "issuer"
                       else achievement_issuer[event.subject_id])
            given[event.originator_id] = (event.endorser_id, subject, event.timestamp)
    return MemoryEdges(
        (str(endorser), str(subject), str(endorsement))
        for endorsement, (endorser, subject, given_at) in given.items()
        if (withdrawn.get(endorsement) is None if at is None else
            given_at <= at and (withdrawn.get(endorsement) is None or withdrawn[endorsement] > at)))


def test_the_read_model_gives_the_same_edges_as_the_log(app):
    badge = define(app, "Teamwork", issuer="consortium")
    kept = [endorse(app, "acme", "partner"), endorse(app, "partner", badge)]
    gone = endorse(app, "ministry", "acme")
    endorse(app, "acme", issue(app, LEARNER_DID, badge).id)  # a credential: no edge
    withdraw(app, gone)
    given_at = instant(endorsement(app, gone).given_at)
    app.queries.fresh()
    db = app.queries.read_model.db
    ids = [str(app.queries.issuer(s).id) for s in ("acme", "partner", "consortium", "ministry", "loner")]
    # Every node the endorsements table names: their successors and predecessors are the whole graph.
    every = sorted(set(ids) | {row[0] for row in db.query(
        "SELECT endorser_id FROM endorsements UNION SELECT subject_issuer_id FROM endorsements")})
    for at in (None, given_at):
        reference, found = edges_from_log(app, at), Edges(db, at)
        assert _sorted(found.successors(ids)) == _sorted(reference.successors(ids))
        assert _sorted(found.predecessors(ids)) == _sorted(reference.predecessors(ids))
        assert _sorted(found.successors(every)) == _sorted(reference.out)
        assert _sorted(found.predecessors(every)) == _sorted(reference.into)
    standing = sorted(e for v in edges_from_log(app).successors(ids).values() for _, e in v)
    assert standing == sorted(kept)
    assert sorted(e for _, e in edges_from_log(app, given_at).out[ids[3]]) == [gone]


def _sorted(neighbours) -> dict:
    return {k: sorted(v) for k, v in neighbours.items() if v}


# --- the command line ----------------------------------------------------------------------------


def test_trust_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("REGISTRY_KEYSTORE_PASSPHRASE", raising=False)
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    monkeypatch.setenv("REGISTRY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REGISTRY_KEYS", str(tmp_path / "keys"))
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    for slug in ("acme", "partner", "consortium"):
        assert run("issuer", "register", "--slug", slug, "--name", slug.title())[0] == 0
    ids = [run("endorse", "--by", by, "--subject", subject, "--comment", "Trusted.")[1].strip()
           for by, subject in (("acme", "partner"), ("partner", "consortium"))]

    code, out, _ = run("trust", "path", "--from", "acme", "--to", "consortium")
    assert code == 0
    assert out.splitlines() == ["acme -> partner -> consortium", f"  acme -> partner: {ids[0]}",
                                f"  partner -> consortium: {ids[1]}"]
    code, out, _ = run("trust", "path", "--from", "acme", "--to", "consortium", "--json")
    answer = json.loads(out)
    assert answer["chain"] == ["acme", "partner", "consortium"]
    assert [h["endorsements"] for h in answer["hops"]] == [[ids[0]], [ids[1]]]
    assert run("trust", "path", "--from", "acme", "--to", "consortium", "--max-depth", "1") == (
        1, "no chain of active endorsements from acme to consortium within depth 1\n", "")
    code, out, _ = run("trust", "path", "--from", "consortium", "--to", "acme", "--json")
    assert code == 1 and json.loads(out)["chain"] is None
    code, _, err = run("trust", "path", "--from", "acme", "--to", "nobody")
    assert code == 2 and err.startswith("registry: ") and "nobody" in err
    code, _, err = run("trust", "path", "--from", "acme", "--to", "partner", "--max-depth", "99")
    assert code == 2 and "between 1 and 10" in err
    code, _, err = run("trust", "path", "--from", "acme", "--to", "partner", "--at", "yesterday")
    assert code == 2 and "--at" in err
    assert run("trust", "path", "--from", "acme", "--to", "partner", "--at", "2000-01-01T00:00:00Z")[0] == 1

    assert run("trust", "anchored", "consortium") == (1, "no trust anchors are configured\n", "")
    assert run("trust", "anchors", "add", "acme")[0] == 0
    code, _, err = run("trust", "anchors", "add", "acme")
    assert code == 2 and err == "registry: acme is already a trust anchor\n"
    code, out, _ = run("trust", "anchors", "list", "--json")
    assert [a["slug"] for a in json.loads(out)] == ["acme"]
    assert run("trust", "anchored", "consortium")[1].splitlines()[0] == "acme -> partner -> consortium"
    assert run("trust", "anchors", "remove", "acme", "--reason", "audit")[0] == 0
    code, _, err = run("trust", "anchors", "remove", "acme")
    assert code == 2 and err == "registry: acme is not a trust anchor\n"
    assert run("trust", "anchors", "list") == (0, "\n", "")
