"""KPIs for programme managers (registry/projections/kpis.py), on SQLite and PostgreSQL: badges
issued per month, revocation and suspension rates, the median time to complete a pathway, and
endorsements received by the endorser's kind, per achievement, per organisation and for the whole
registry, on a small dataset whose every figure is worked out by hand below. The data is written
through `registry.commands` with the clock moved between writes (events take their timestamps from
it), and a rebuild, in batches of any size, gives the same tables."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from registry.commands import Actor, Award
from registry.domain import NotFound
from registry.errors import InputError
from registry.projections import ReadModel
from registry.projections.kpis import KINDS, KPIS, NOT_STATED, window
from registry.store import open_database

OPERATOR = Actor("test")
DAY = 86_400


def definition(name: str) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def timed(registry, clock, monkeypatch):
    """The registry with a movable clock that also stamps the events: `timed.at("2026-01-10")`."""
    monkeypatch.setattr("eventsourcing.domain.datetime_now_with_tzinfo", lambda: clock())

    class Timed:
        def at(self, when: str) -> None:
            clock.now = at(when)

    registry.timed = Timed()
    return registry


def build(registry) -> dict:
    """The dataset (figures in the tests below):
    school (education) has A1, A2, P (requires A1, A2) and Q (requires P: A1, A2 transitively);
    acme (employer) has B; city (government), ngo (civil-society) and club (no kind stated) endorse."""
    c, t = registry.commands, registry.timed
    t.at("2025-05-01T09:00:00")
    for slug, kind in (("school", "education"), ("acme", "employer"), ("city", "government"),
                       ("ngo", "civil-society"), ("club", None)):
        c.issuers.register(slug=slug, name=slug.title(), kind=kind, actor=OPERATOR)
    a1 = c.achievements.define(issuer="school", definition=definition("A1"), actor=OPERATOR).id
    a2 = c.achievements.define(issuer="school", definition=definition("A2"), actor=OPERATOR).id
    p = c.achievements.define(issuer="school", definition=definition("P"), requires=[a1, a2], actor=OPERATOR).id
    q = c.achievements.define(issuer="school", definition=definition("Q"), requires=[p], actor=OPERATOR).id
    b = c.achievements.define(issuer="acme", definition=definition("B"), actor=OPERATOR).id

    def issue(when: str, who: str, achievement: str) -> str:
        t.at(when)
        return c.credentials.issue(Award(recipient=f"{who}@example.org", achievement=achievement),
                                   actor=OPERATOR).id

    made = {"a1": a1, "a2": a2, "p": p, "q": q, "b": b}
    issue("2025-06-20T10:00:00", "l5", b)  # outside a 12-month window ending in June 2026
    l1_a1 = issue("2026-01-10T12:00:00", "l1", a1)
    issue("2026-02-10T12:00:00", "l1", a2)
    made["l1_p"] = issue("2026-03-10T12:00:00", "l1", p)  # 59 days after l1's first award
    issue("2026-03-01T12:00:00", "l2", a2)
    issue("2026-03-05T12:00:00", "l2", a1)
    l2_p = issue("2026-03-11T12:00:00", "l2", p)  # 10 days
    issue("2026-04-01T12:00:00", "l3", a1)
    l3_a2 = issue("2026-04-02T12:00:00", "l3", a2)
    issue("2026-04-05T12:00:00", "l3", p)  # 4 days
    issue("2026-05-05T12:00:00", "l3", q)  # 34 days after l3's first award (A1, through P)
    l4_a1 = issue("2026-05-01T12:00:00", "l4", a1)
    issue("2026-06-01T12:00:00", "l5", b)

    t.at("2026-06-02T12:00:00")
    c.credentials.revoke(l2_p, reason="fraud", actor=OPERATOR)
    c.credentials.suspend(l4_a1, reason="check", actor=OPERATOR)
    c.credentials.suspend(l1_a1, reason="check", actor=OPERATOR)
    c.credentials.reinstate(l1_a1, reason="cleared", actor=OPERATOR)
    c.credentials.suspend(l3_a2, reason="check", actor=OPERATOR)
    c.credentials.revoke(l3_a2, reason="fraud", actor=OPERATOR)

    for by, subject in (("acme", "school"), ("city", "school"), ("club", "school"), ("acme", p), ("ngo", p),
                        ("acme", made["l1_p"]), ("school", p), ("school", "acme")):
        c.endorsements.endorse(by=by, subject=subject, comment=f"{by} vouches", actor=OPERATOR)
    withdrawn = c.endorsements.endorse(by="city", subject=a1, comment="city vouches", actor=OPERATOR).id
    c.endorsements.withdraw(withdrawn, reason="changed our mind", actor=OPERATOR)
    t.at("2026-06-15T12:00:00")
    return made


def kinds(figures) -> dict[str, int]:
    return {k.kind: k.endorsements for k in figures.endorsements}


def months(figures) -> dict[str, int]:
    return {m.month: m.issued for m in figures.months}


def test_the_figures_of_an_achievement_an_organisation_and_the_registry(timed):
    made = build(timed)
    queries = timed.queries

    school = queries.kpis(issuer="school", months=6)
    assert (school.scope, school.issuer, school.issuer_name) == ("issuer", "school", "School")
    assert months(school) == {"2026-01": 1, "2026-02": 1, "2026-03": 4, "2026-04": 3, "2026-05": 2, "2026-06": 0}
    assert (school.issued, school.revoked, school.suspended) == (11, 2, 1)
    assert school.revocation_rate == pytest.approx(2 / 11)
    assert school.suspension_rate == pytest.approx(1 / 11)
    # Completions of P (4, 10, 59 days) and Q (34 days): quartiles linear between ranks.
    assert school.time_to_earn.count == 4
    assert school.time_to_earn.median_seconds == pytest.approx(22 * DAY)
    assert school.time_to_earn.p25_seconds == pytest.approx(8.5 * DAY)
    assert school.time_to_earn.p75_seconds == pytest.approx(40.25 * DAY)
    assert [(w.name, w.time_to_earn.count) for w in school.pathways] == [("P", 3), ("Q", 1)]
    # Standing endorsements from others of school, its achievements and its credentials (not its
    # own of P, not city's withdrawn one of A1), by the endorser's kind.
    assert kinds(school) == {"education": 0, "employer": 3, "government": 1, "civil-society": 1, "other": 0,
                             NOT_STATED: 1}
    assert school.endorsements_total == 6

    p = queries.kpis(achievement=made["p"])
    assert (p.scope, p.issuer, p.achievement_name) == ("achievement", "school", "P")
    assert (p.issued, p.revoked, p.suspended) == (3, 1, 0)
    assert (p.time_to_earn.count, p.time_to_earn.median_seconds) == (3, pytest.approx(10 * DAY))
    assert p.time_to_earn.p25_seconds == pytest.approx(7 * DAY)
    assert p.time_to_earn.p75_seconds == pytest.approx(34.5 * DAY)
    assert p.pathways == [] and p.pathway is True and school.pathway is None
    assert kinds(p)["employer"] == 2 and kinds(p)["civil-society"] == 1 and p.endorsements_total == 3
    q = queries.kpis(achievement=made["q"])
    assert (q.time_to_earn.count, q.time_to_earn.median_seconds, q.time_to_earn.p25_seconds) == (
        1, pytest.approx(34 * DAY), pytest.approx(34 * DAY))
    a1 = queries.kpis(achievement=made["a1"])
    assert (a1.issued, a1.revoked, a1.suspended, a1.time_to_earn.count) == (4, 0, 1, 0)
    assert a1.time_to_earn.median_seconds is None and a1.endorsements_total == 0 and a1.pathway is False

    everything = queries.kpis()
    assert (everything.scope, everything.issuer) == ("registry", None)
    assert len(everything.months) == 12 and everything.months[0].month == "2025-07"
    assert sum(m.issued for m in everything.months) == 12  # the June 2025 award is outside the window
    assert (everything.issued, everything.revoked, everything.suspended) == (13, 2, 1)
    assert kinds(everything)["education"] == 1 and everything.endorsements_total == 7
    assert everything.time_to_earn.count == 4

    acme = queries.kpis(issuer="acme", months=24)
    assert months(acme)["2025-06"] == 1 and months(acme)["2026-06"] == 1 and sum(months(acme).values()) == 2
    assert acme.time_to_earn.count == 0 and acme.pathways == [] and acme.revocation_rate == 0

    # The endorser's kind as it stands now: club states one later.
    timed.commands.issuers.update_profile("club", kind="other", actor=OPERATOR)
    assert kinds(queries.kpis(issuer="school"))["other"] == 1
    assert kinds(queries.kpis(issuer="school"))[NOT_STATED] == 0


def test_an_empty_registry_and_unknown_names(registry):
    empty = registry.queries.kpis()
    assert (empty.issued, empty.revocation_rate, empty.time_to_earn.count) == (0, None, 0)
    assert [m.issued for m in empty.months] == [0] * 12
    assert [k.kind for k in empty.endorsements] == [*KINDS, NOT_STATED]
    with pytest.raises(NotFound):
        registry.queries.kpis(issuer="nobody")
    with pytest.raises(NotFound):
        registry.queries.kpis(achievement="6f1c7f9e-0000-4000-8000-000000000000")
    with pytest.raises(InputError):
        registry.queries.kpis(months=0)


def test_window_counts_back_across_a_year():
    assert window(at("2026-02-28T23:59:59"), 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]


def snapshot(model: ReadModel) -> dict[str, list[tuple]]:
    return {table: sorted(model.db.query(f"SELECT * FROM {table}"), key=repr) for table in KPIS.tables}


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_rebuild_in_batches_of_any_size_gives_the_same_tables(timed, batch_size):
    build(timed)
    own = timed.queries.read_model
    own.fresh()
    expected = snapshot(own)
    assert len(expected["kpi_earned"]) == 4 and len(expected["kpi_credentials"]) == 13
    small = ReadModel(timed.store, open_database(timed.settings.store), batch_size=batch_size)
    try:
        small.runner.rebuild("kpis")
        assert snapshot(small) == expected
    finally:
        small.close()
    own.runner.rebuild("kpis")
    assert snapshot(own) == expected


def test_the_json_and_the_pages_answer_and_a_write_shows_at_once(timed):
    from litestar.testing import TestClient

    from registry.api.app import create_app

    made = build(timed)
    with TestClient(create_app(timed)) as client:
        everything = client.get("/kpis", params={"months": 6}).json()
        assert [m["month"] for m in everything["months"]] == ["2026-01", "2026-02", "2026-03", "2026-04",
                                                               "2026-05", "2026-06"]
        assert (everything["issued"], everything["revoked"], everything["suspended"]) == (13, 2, 1)
        school = client.get("/issuers/school/kpis").json()
        assert school["time_to_earn"]["median_seconds"] == 22 * DAY and school["endorsements_total"] == 6
        p = client.get(f"/achievements/{made['p']}/kpis").json()
        assert (p["achievement_name"], p["issued"], p["revocation_rate"]) == ("P", 3, pytest.approx(1 / 3))
        assert client.get("/issuers/nobody/kpis").status_code == 404
        assert client.get("/kpis", params={"months": 99}).status_code == 400

        page = client.get("/pages/issuers/school/kpis", params={"lang": "nl"})
        assert page.status_code == 200 and page.headers["content-language"] == "nl"
        assert page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "Kerncijfers: School" in page.text and "18,2%" in page.text  # 2 of 11 revoked
        assert page.text.count('role="img"') == 3
        again = client.get("/pages/issuers/school/kpis", params={"lang": "nl"})
        assert again.text == page.text  # served again while the log has not grown
        assert "Key figures: School" in client.get("/pages/issuers/school/kpis", params={"lang": "en"}).text
        timed.commands.credentials.issue(Award(recipient="l9@example.org", achievement=made["a1"]), actor=OPERATOR)
        after = client.get("/pages/issuers/school/kpis", params={"lang": "nl"}).text
        assert "16,7%" in after  # 2 of 12: the write shows at once
        assert "it is not a pathway" in client.get(f"/pages/achievements/{made['a1']}/kpis").text
        assert "it is not a pathway" not in client.get(f"/pages/achievements/{made['p']}/kpis").text
        assert client.get("/pages/kpis", params={"months": 7}).status_code == 400
        assert client.get("/pages/achievements/nope/kpis").status_code == 404


def test_the_command_line_says_the_same(timed, registry_environ, tmp_path, monkeypatch, capsys):
    import json

    from registry.cli import main

    made = build(timed)
    for key in ("REGISTRY_DATABASE_URL", "REGISTRY_KEYSTORE_PASSPHRASE", "REGISTRY_CREATE_TABLES"):
        monkeypatch.delenv(key, raising=False)
    for key, value in registry_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    assert main(["kpis", "--issuer", "school"]) == 0
    out = capsys.readouterr().out
    assert "issued 11, revoked 2 (18.2%), suspended now 1" in out
    assert "median 22.0 days, middle half 8.5 days to 40.2 days, 4 completed" in out
    assert "  P: median 10.0 days, 3 completed" in out
    assert main(["kpis", "--achievement", made["p"], "--json", "--months", "24"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["issued"], len(found["months"]), found["time_to_earn"]["count"]) == (3, 24, 3)
    assert main(["kpis", "--issuer", "nobody"]) == 2
