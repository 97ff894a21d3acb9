"""Trust: the shortest chain of standing endorsements (search over an in-memory adjacency, then the
use cases on SQLite and PostgreSQL), trust anchors, and `registry trust ...`."""

from __future__ import annotations

import json
import random
from collections import deque
from contextlib import contextmanager
from datetime import timedelta
from uuid import UUID

import pytest

from registry.application import Award, Config, Registry
from registry.cli import main
from registry.domain import AlreadyExists, DomainError, NotFound
from registry.keystore import Keystore
from registry.store.append_only import enforce_append_only
from registry.domain import Achievement, Endorsement
from registry.projections.read_model import read_model
from registry.trust import Link, MemoryEdges, SqlEdges, shortest_chain

ACTOR = "test"
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


def new_registry(store_env, tmp_path) -> Registry:
    registry = Registry(config=Config(public_url="https://badges.test", keys_dir=tmp_path / "keys"),
                        keystore=Keystore(tmp_path / "keys"), env=store_env)
    enforce_append_only(registry)
    return registry


@contextmanager
def nothing_stored(app: Registry):
    before = app.max_position()
    yield
    assert app.max_position() == before, "a refused command stored events"


def define(app: Registry, name: str, issuer: str) -> str:
    definition = {"name": name, "description": f"The holder shows {name.lower()}.",
                  "criteria": {"narrative": f"Assessed on {name.lower()}."}}
    return app.define_achievement(issuer=issuer, actor=ACTOR, definition=definition, requires=[]).id


def issue(app: Registry, recipient: str, achievement: str):
    return app.issue_credential(Award(recipient, achievement), actor=ACTOR)


@pytest.fixture
def app(store_env, tmp_path):
    registry = new_registry(store_env, tmp_path)
    for slug in ("acme", "partner", "consortium", "ministry", "loner"):
        registry.register_issuer(slug=slug, name=slug.title(), actor=ACTOR)
    yield registry
    read = registry.__dict__.pop("_read_model", None)  # its own connection to the database
    if read is not None:
        read.close()


def endorse(app: Registry, by: str, subject: str) -> str:
    return app.endorse(by=by, subject=subject, comment=f"{by} vouches for {subject}", actor=ACTOR).id


def chain(hops) -> list[str] | None:
    return None if hops is None else [hops[0].endorser, *[h.subject for h in hops]] if hops else []


def test_paths_follow_standing_endorsements_as_of_any_instant(app):
    first = endorse(app, "acme", "partner")
    endorse(app, "partner", "consortium")
    endorse(app, "consortium", "ministry")
    shortcut = endorse(app, "acme", "consortium")
    assert chain(app.trust_path("acme", "ministry")) == ["acme", "consortium", "ministry"]
    assert chain(app.trust_path("partner", "ministry")) == ["partner", "consortium", "ministry"]
    assert app.trust_path("ministry", "acme") is None
    assert app.trust_path("acme", "loner") is None
    assert app.trust_path("acme", "acme") == []

    app.withdraw_endorsement(shortcut, reason="ended", actor=ACTOR)
    hops = app.trust_path("acme", "ministry")
    assert chain(hops) == ["acme", "partner", "consortium", "ministry"]
    assert hops[0].endorsements == [first]
    assert app.trust_path("acme", "ministry", max_depth=2) is None

    app.withdraw_endorsement(first, reason="ended", actor=ACTOR)
    assert app.trust_path("acme", "ministry") is None
    withdrawn_at = app.endorsement(first).withdrawn_at
    before = app.trust_path("acme", "ministry", at=withdrawn_at - timedelta(microseconds=1))
    assert chain(before) == ["acme", "partner", "consortium", "ministry"]
    assert app.trust_path("acme", "ministry", at=withdrawn_at) is None
    given_at = app.endorsement(first).created_on
    assert app.trust_path("acme", "partner", at=given_at - timedelta(microseconds=1)) is None
    assert chain(app.trust_path("acme", "partner", at=given_at)) == ["acme", "partner"]


def test_cycles_and_the_depth_limit(app):
    for by, subject in (("acme", "partner"), ("partner", "consortium"), ("consortium", "acme"),
                        ("consortium", "ministry")):
        endorse(app, by, subject)
    assert chain(app.trust_path("partner", "ministry")) == ["partner", "consortium", "ministry"]
    assert chain(app.trust_path("acme", "ministry", max_depth=3)) == [
        "acme", "partner", "consortium", "ministry"]
    assert app.trust_path("acme", "ministry", max_depth=2) is None
    assert app.trust_path("partner", "loner", max_depth=10) is None
    with pytest.raises(DomainError, match="between 1 and 10"):
        app.trust_path("acme", "ministry", max_depth=11)
    with pytest.raises(DomainError, match="between 1 and 10"):
        app.trust_path("acme", "ministry", max_depth=0)
    with pytest.raises(NotFound, match="nobody"):
        app.trust_path("acme", "nobody")


def test_an_achievement_endorsement_counts_a_credential_endorsement_does_not(app):
    badge = define(app, "Teamwork", issuer="consortium")
    credential = issue(app, LEARNER_DID, badge).id
    endorse(app, "acme", credential)
    assert app.trust_path("acme", "consortium") is None
    by_badge = endorse(app, "acme", badge)
    hops = app.trust_path("acme", "consortium")
    assert chain(hops) == ["acme", "consortium"] and hops[0].endorsements == [by_badge]
    by_issuer = endorse(app, "acme", "consortium")
    assert app.trust_path("acme", "consortium")[0].endorsements == sorted([by_badge, by_issuer])
    # An issuer endorsing its own achievement vouches for nobody else.
    endorse(app, "consortium", badge)
    assert app.trust_path("consortium", "acme") is None


def test_issuers_are_named_by_slug_id_or_did(app):
    endorse(app, "acme", "partner")
    partner = app.issuer("partner")
    for ref in ("partner", str(partner.id), f"urn:uuid:{partner.id}", partner.did):
        assert chain(app.trust_path("acme", ref)) == ["acme", "partner"]
    with pytest.raises(NotFound):
        app.trust_path("acme", "did:web:nowhere.example")


def test_anchors_add_list_remove_with_refusals(app):
    assert app.trust_anchors() == []
    first = app.add_trust_anchor("ministry", actor=ACTOR)
    app.add_trust_anchor("acme", actor=ACTOR)
    assert [a.slug for a in app.trust_anchors()] == ["acme", "ministry"]
    assert first.id == str(app.issuer("ministry").id)
    with nothing_stored(app):
        with pytest.raises(AlreadyExists, match="ministry is already a trust anchor"):
            app.add_trust_anchor("ministry", actor=ACTOR)
        with pytest.raises(NotFound, match="nobody"):
            app.add_trust_anchor("nobody", actor=ACTOR)
        with pytest.raises(NotFound, match="partner is not a trust anchor"):
            app.remove_trust_anchor("partner", reason="x", actor=ACTOR)
        with pytest.raises(DomainError, match="needs a reason"):
            app.remove_trust_anchor("acme", reason=" ", actor=ACTOR)
    added = app.trust_anchors()[0].added_at
    app.remove_trust_anchor("acme", reason="no longer trusted", actor=ACTOR)
    assert [a.slug for a in app.trust_anchors()] == ["ministry"]
    assert [a.slug for a in app.trust_anchors(at=added)] == ["acme", "ministry"]
    app.add_trust_anchor("acme", actor=ACTOR)  # again, after removal
    assert [a.slug for a in app.trust_anchors()] == ["acme", "ministry"]


def test_removing_before_any_anchor_and_a_fresh_store(store_env, tmp_path):
    app = new_registry(store_env, tmp_path)
    app.register_issuer(slug="acme", name="Acme", actor=ACTOR)
    with nothing_stored(app), pytest.raises(NotFound, match="acme is not a trust anchor"):
        app.remove_trust_anchor("acme", reason="x", actor=ACTOR)


def test_chain_from_anchors(app):
    assert app.chain_from_anchors("ministry") is None  # no anchors at all
    app.add_trust_anchor("ministry", actor=ACTOR)
    app.add_trust_anchor("loner", actor=ACTOR)
    assert app.chain_from_anchors("ministry") == []
    assert app.chain_from_anchors("acme") is None
    endorse(app, "ministry", "consortium")
    link = endorse(app, "consortium", "acme")
    assert chain(app.chain_from_anchors("acme")) == ["ministry", "consortium", "acme"]
    assert chain(app.chain_from_anchors(app.issuer("acme").id)) == ["ministry", "consortium", "acme"]
    assert app.chain_from_anchors("acme", max_depth=1) is None
    app.withdraw_endorsement(link, reason="ended", actor=ACTOR)
    assert app.chain_from_anchors("acme") is None
    withdrawn_at = app.endorsement(link).withdrawn_at
    assert chain(app.chain_from_anchors("acme", withdrawn_at - timedelta(microseconds=1))) == [
        "ministry", "consortium", "acme"]
    # Anchors count as of the instant too: before ministry was an anchor, nothing reached acme.
    anchored_at = app.trust_anchors()[1].added_at
    assert app.chain_from_anchors("acme", anchored_at - timedelta(microseconds=1)) is None


def edges_from_log(app: Registry, at=None) -> MemoryEdges:
    """The reference: standing edges straight from the event log, by a full scan."""
    achievement_issuer, given, withdrawn = {}, {}, {}
    for event in app.events_of(Achievement.Defined, Endorsement.Endorsed, Endorsement.Withdrawn):
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
    app.withdraw_endorsement(gone, reason="ended", actor=ACTOR)
    given_at = app.endorsement(gone).created_on
    read = read_model(app)
    read.fresh()
    ids = [str(app.issuer(s).id) for s in ("acme", "partner", "consortium", "ministry", "loner")]
    for at in (None, given_at):
        reference, found = edges_from_log(app, at), SqlEdges(read.store, at)
        assert _sorted(found.successors(ids)) == _sorted(reference.successors(ids))
        assert _sorted(found.predecessors(ids)) == _sorted(reference.predecessors(ids))
        assert _sorted(found.snapshot().out) == _sorted(reference.out)
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
