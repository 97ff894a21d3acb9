"""The PostgreSQL deployment of deploy/README.md, for real: the owner runs `registry init --app-role`,
then the service runs as the application role with REGISTRY_CREATE_TABLES=false and can do all its
work (issue, revoke, read projections, serve status lists) but can never rewrite an event."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from registry.cli import main

# The owner creates the tables here (`registry init`): the database starts empty.
pytestmark = pytest.mark.empty_postgres


def run(monkeypatch, capsys, env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_service_runs_as_an_append_only_application_role(pg_database, tmp_path, monkeypatch, capsys):
    with pg_database.connect() as conn:
        conn.execute("CREATE ROLE registry_app LOGIN")
    common = {"REGISTRY_KEYS": str(tmp_path / "keys"), "REGISTRY_PUBLIC_URL": "https://badges.test",
              "REGISTRY_HOME": str(tmp_path / "home")}
    owner = {**common, "REGISTRY_DATABASE_URL": f"postgresql://{pg_database.user}:x@{pg_database.host}:"
                                                  f"{pg_database.port}/{pg_database.dbname}",
             "REGISTRY_CREATE_TABLES": "true"}
    app_role = {**owner, "REGISTRY_DATABASE_URL": f"postgresql://registry_app:x@{pg_database.host}:"
                                                   f"{pg_database.port}/{pg_database.dbname}",
                "REGISTRY_CREATE_TABLES": "false"}

    assert run(monkeypatch, capsys, owner, "init", "--app-role", "registry_app")[0] == 0

    code, out, err = run(monkeypatch, capsys, app_role, "--json", "issuer", "register", "--slug", "acme",
                         "--name", "Acme Academy")
    assert code == 0, err
    code, out, err = run(monkeypatch, capsys, app_role, "--json", "achievement", "define", "--issuer", "acme",
                         "--name", "Teamwork", "--description", "Works with others", "--criteria", "Peer review")
    achievement = json.loads(out)["id"]
    code, out, err = run(monkeypatch, capsys, app_role, "--json", "issue", "--achievement", achievement,
                         "--recipient", "learner@example.org")
    assert code == 0, err
    credential = json.loads(out)["id"]
    assert run(monkeypatch, capsys, app_role, "revoke", credential, "--reason", "error")[0] == 0
    code, out, err = run(monkeypatch, capsys, app_role, "--json", "status", credential)
    assert code == 1 and json.loads(out)["status"] == "revoked", err  # exit 1: not valid
    code, out, err = run(monkeypatch, capsys, app_role, "--json", "status-list", "acme")
    assert code == 0, err

    with psycopg.connect(host=pg_database.host, port=pg_database.port, dbname=pg_database.dbname,
                         user="registry_app", autocommit=True) as conn:
        for statement in ("UPDATE registry_events SET topic = 'x'", "DELETE FROM registry_events",
                          "TRUNCATE registry_events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_operations_keep_the_application_roles_rights_and_refuse_in_one_line(pg_database, tmp_path, monkeypatch,
                                                                              capsys):
    """`projections rebuild` run by the owner (the operator role of deploy/README.md) recreates
    tables with the application role's rights; commands the application role may not run say so in
    one line, never with a traceback; the application role manages API keys."""
    role = f"registry_app_{uuid.uuid4().hex[:8]}"  # roles are the cluster's: one of this test's own
    with pg_database.connect() as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    common = {"REGISTRY_KEYS": str(tmp_path / "keys"), "REGISTRY_PUBLIC_URL": "https://badges.test",
              "REGISTRY_HOME": str(tmp_path / "home")}
    server = f"{pg_database.host}:{pg_database.port}/{pg_database.dbname}"
    owner = {**common, "REGISTRY_DATABASE_URL": f"postgresql://{pg_database.user}:x@{server}",
             "REGISTRY_CREATE_TABLES": "true"}
    app_role = {**owner, "REGISTRY_DATABASE_URL": f"postgresql://{role}:x@{server}", "REGISTRY_CREATE_TABLES": "false"}
    assert run(monkeypatch, capsys, owner, "init", "--app-role", role)[0] == 0
    assert run(monkeypatch, capsys, app_role, "issuer", "register", "--slug", "acme", "--name", "Acme")[0] == 0

    code, out, err = run(monkeypatch, capsys, app_role, "apikey", "create", "acme")
    assert code == 0 and out.splitlines()[-1].startswith("rk_"), err
    code, out, err = run(monkeypatch, capsys, owner, "projections", "rebuild")
    assert code == 0, err
    # After the rebuild the service still reads and writes its tables
    code, out, err = run(monkeypatch, capsys, app_role, "--json", "achievement", "define", "--issuer", "acme",
                         "--name", "Teamwork", "--description", "d", "--criteria", "c")
    assert code == 0, err
    code, out, err = run(monkeypatch, capsys, app_role, "issuer", "show", "acme")
    assert code == 0, err
    # What the application role may not do: one line naming what to do instead
    for argv in (("projections", "rebuild"), ("init", "--app-role", role)):
        code, out, err = run(monkeypatch, capsys, app_role, *argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("registry: "), (argv, err)
        assert "Traceback" not in err and "owner" in lines[0], (argv, err)
