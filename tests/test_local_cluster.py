"""deploy/local-cluster, for real: deploy/compose.yaml's topology on this machine (a PostgreSQL primary
with a synchronous streaming replica, PgBouncer in transaction pooling with sessions direct to the
primary, a SoftHSM2 token, three API hosts reading from the replica, two projection workers, HAProxy
terminating TLS), brought up once for this file. Through HAProxy over https (the generated
certificate as the only CA): an organisation registered, credentials issued, revoked, their status
read and the signed status list fetched with API keys made by the CLI; writes through one host read
back through the others; a key rotated through one host signs on the others (the keys are in the
shared token); a host killed with SIGKILL costs no request; `down` leaves no process and no
listening port. Without the Debian packages the file is skipped with the reason; in CI (CI=true) it
fails instead."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "local-cluster"
MARKER = "BADGE_REGISTRY_LOCAL_CLUSTER"
NEEDED = {"/usr/sbin/pgbouncer": "pgbouncer", "/usr/sbin/haproxy": "haproxy",
          "/usr/lib/softhsm/libsofthsm2.so": "softhsm2"}


def definition(name: str) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}}


@dataclass
class Cluster:
    dir: Path
    state: dict
    env: dict[str, str]  # what `local-cluster env` prints: the CLI's settings, the URL, the CA
    tls: ssl.SSLContext

    def https(self) -> httpx.Client:
        return httpx.Client(base_url=self.state["urls"]["https"], verify=self.tls, timeout=30)

    def host(self, n: int) -> httpx.Client:
        """API host n (1-based) directly, without HAProxy."""
        return httpx.Client(base_url=self.state["urls"]["api"][n - 1], timeout=30)

    def cli(self, *argv: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "PG"))}
        done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env={**env, **self.env},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"registry {' '.join(argv)}: {done.stderr.strip()}"
        return done.stdout

    def script(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, str(SCRIPT), *argv, "--dir", str(self.dir)], capture_output=True,
                              text=True, timeout=180)
        assert not check or done.returncode == 0, f"local-cluster {argv[0]}: {done.stderr.strip()}"
        return done


def problem() -> str | None:
    missing = [f"{path} ({package})" for path, package in NEEDED.items() if not Path(path).is_file()]
    import glob
    import shutil

    if not glob.glob("/usr/lib/postgresql/*/bin/pg_ctl") and not shutil.which("pg_ctl"):
        missing.append("PostgreSQL server binaries (postgresql)")
    if not shutil.which("softhsm2-util"):
        missing.append("softhsm2-util (softhsm2)")
    return f"deploy/local-cluster needs {', '.join(missing)}" if missing else None


@pytest.fixture(scope="module")
def cluster():
    reason = problem()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # Straight under /tmp: PostgreSQL and PgBouncer run as `postgres`, who cannot enter pytest's tree.
    directory = Path(tempfile.mkdtemp(prefix="registry-local-cluster-"))
    up = subprocess.run([sys.executable, str(SCRIPT), "up", "--dir", str(directory)], capture_output=True,
                        text=True, timeout=240)
    try:
        assert up.returncode == 0, f"local-cluster up: {up.stderr.strip()}"
        # One line on failure; on success one line naming where it all is.
        assert up.stderr.strip() == "" and up.stdout.strip().count("\n") == 0, up.stdout + up.stderr
        state = json.loads((directory / "cluster.json").read_text())
        env = json.loads(subprocess.run([sys.executable, str(SCRIPT), "env", "--dir", str(directory), "--json"],
                                        capture_output=True, text=True, timeout=60, check=True).stdout)
        yield Cluster(directory, state, env, ssl.create_default_context(cafile=state["ca"]))
    finally:
        subprocess.run([sys.executable, str(SCRIPT), "down", "--dir", str(directory)], capture_output=True,
                       timeout=120)  # idempotent: after test_down_leaves_nothing_behind it does nothing


@pytest.fixture(scope="module")
def acme(cluster):
    """An organisation registered through HAProxy with an admin key, and its own key (both made by the
    CLI against the cluster's database, as an operator would), with one achievement."""
    admin = cluster.cli("apikey", "create", "--admin").splitlines()[-1]
    with cluster.https() as client:
        registered = client.post("/issuers", json={"slug": "acme", "name": "Acme Academy"},
                                 headers={"Authorization": f"Bearer {admin}"})
        assert registered.status_code == 201, registered.text
        key = cluster.cli("apikey", "create", "acme").splitlines()[-1]
        auth = {"Authorization": f"Bearer {key}"}
        achievement = client.post("/achievements", json={"definition": definition("Welding")}, headers=auth)
        assert achievement.status_code == 201, achievement.text
    return {"auth": auth, "achievement": achievement.json()["id"]}


def issue(client: httpx.Client, acme: dict, recipient: str) -> dict:
    issued = client.post("/credentials", json={"recipient": recipient, "achievement": acme["achievement"]},
                         headers=acme["auth"])
    assert issued.status_code == 201, issued.text
    return issued.json()


def verification_method(document: dict) -> str:
    proof = document["proof"]
    return (proof[0] if isinstance(proof, list) else proof)["verificationMethod"]


def test_the_topology_is_what_compose_describes(cluster):
    state = cluster.state
    assert len(state["urls"]["api"]) == 3
    assert [p["name"] for p in state["processes"]] == ["pgbouncer", "api-1", "api-2", "api-3", "projections-1",
                                                       "projections-2", "haproxy"]
    # Synchronous replication: the primary waits for the replica named in synchronous_standby_names.
    with psycopg.connect(host=str(cluster.dir / "pg" / "run"), port=state["ports"]["primary"], user="postgres",
                         dbname="postgres") as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        assert conn.execute("SELECT application_name, sync_state FROM pg_stat_replication").fetchall() \
            == [("replica", "sync")]
    # As in compose.yaml: plain SQL through PgBouncer in transaction pooling, as the application
    # role; what needs a session (the event store, a worker's LISTEN) straight to the primary.
    served = Path(state["processes"][1]["log"]).read_text()
    assert f"registry_app@127.0.0.1:{state['ports']['pgbouncer']}/registry" in served
    assert "pool_mode = transaction" in (cluster.dir / "pg" / "pgbouncer" / "pgbouncer.ini").read_text()
    session = Path(cluster.env["REGISTRY_SESSION_DATABASE_URL_FILE"]).read_text()
    assert (urlsplit(session).username, urlsplit(session).port) == ("registry_app", state["ports"]["primary"])
    # Secrets are 0600 files; the variables name files, never hold a password.
    for name in ("owner_database_url", "app_database_url", "app_database_url_direct", "replica_database_url",
                 "hsm_pin"):
        assert (cluster.dir / "secrets" / name).stat().st_mode & 0o777 == 0o600
    assert (cluster.dir / "tls" / "haproxy.pem").stat().st_mode & 0o777 == 0o600
    assert (cluster.dir / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600
    replica = (cluster.dir / "secrets" / "replica_database_url").read_text()
    assert urlsplit(replica).port == state["ports"]["replica"]  # the standby itself, not PgBouncer
    for name in ("REGISTRY_DATABASE_URL", "REGISTRY_SESSION_DATABASE_URL", "REGISTRY_REPLICA_DATABASE_URL",
                 "REGISTRY_PKCS11_PIN"):
        assert name not in cluster.env


def test_haproxy_terminates_tls_and_is_ready(cluster):
    with cluster.https() as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
        assert client.get("/metrics").status_code == 403  # for the monitoring network, not through here
    with httpx.Client(timeout=10) as plain:
        redirected = plain.get(f"{cluster.state['urls']['http']}/readyz")
        assert redirected.status_code == 301
        assert redirected.headers["location"].startswith("https://")
    # The certificate is the cluster's own: a client with the system's CAs refuses it.
    with httpx.Client(base_url=cluster.state["urls"]["https"], timeout=10) as untrusting:
        with pytest.raises(httpx.ConnectError):
            untrusting.get("/readyz")


def test_issue_revoke_status_and_the_signed_list_through_haproxy(cluster, acme):
    with cluster.https() as client:
        kept = issue(client, acme, "ada@example.org")
        revoked = issue(client, acme, "bo@example.org")
        answer = client.post(f"/credentials/{revoked['id']}/revoke", json={"reason": "in error"}, headers=acme["auth"])
        assert answer.status_code == 200, answer.text
        assert client.get(f"/credentials/{kept['id']}/status").json()["status"] == "active"
        status = client.get(f"/credentials/{revoked['id']}/status").json()
        assert (status["status"], status["reason"], status["valid"]) == ("revoked", "in error", False)

        entry = revoked["document"]["credentialStatus"]
        assert entry["statusListCredential"].startswith(cluster.state["urls"]["https"] + "/status-lists/acme/")
        signed = client.get(entry["statusListCredential"].removeprefix(cluster.state["urls"]["https"]))
        assert signed.status_code == 200, signed.text
        from registry.vc import status_list

        bits = status_list.decode(signed.json()["credentialSubject"]["encodedList"])
        assert status_list.is_set(bits, int(entry["statusListIndex"]))
        assert not status_list.is_set(bits, int(kept["document"]["credentialStatus"]["statusListIndex"]))
        assert "proof" in signed.json()
        # Verified through HAProxy: the signatures made in the token check out, the revocation counts.
        assert client.post("/verify", json=kept["document"]).json()["verdict"] == "VALID"
        assert client.post("/verify", json=revoked["document"]).json()["verdict"] == "INVALID"
    # The write is on the replica too (synchronous commit: its WAL was there before the answer).
    with psycopg.connect(host=str(cluster.dir / "pg" / "run"), port=cluster.state["ports"]["replica"],
                         user="postgres", dbname="registry") as replica:
        deadline = time.monotonic() + 10
        while not replica.execute("SELECT 1 FROM registry_events WHERE originator_id = %s",
                                  (UUID(revoked["id"]),)).fetchone():
            assert time.monotonic() < deadline, "the credential never appeared on the replica"
            time.sleep(0.1)
            replica.rollback()
    # The keys are in the token: nothing was written to a keystore directory.
    assert not any((cluster.dir / "keys").iterdir())


def test_writes_through_one_host_are_read_back_through_the_others(cluster, acme):
    """Each host reads from the standby; a read naming the Registry-Position a write answered is
    answered only from a read side that has it (the standby's, or else the primary's)."""
    hosts = [cluster.host(n) for n in (1, 2, 3)]
    try:
        written = hosts[0].post("/credentials", json={"recipient": "cy@example.org", "achievement": acme["achievement"]},
                                headers=acme["auth"])
        assert written.status_code == 201, written.text
        issued, after = written.json(), {"Registry-Position": written.headers["registry-position"]}
        path = f"/credentials/{issued['id']}"
        for host in hosts[1:]:
            assert host.get(f"{path}/status", headers=after).json()["status"] == "active"
            assert host.get(path, headers={"Accept": "application/ld+json", **after}).json() == issued["document"]
        revoked = hosts[1].post(f"{path}/revoke", json={"reason": "withdrawn"}, headers=acme["auth"])
        assert revoked.status_code == 200, revoked.text
        after = {"Registry-Position": revoked.headers["registry-position"]}
        answers = [host.get(f"{path}/status", headers=after) for host in (hosts[2], hosts[0])]
        assert [a.json()["status"] for a in answers] == ["revoked", "revoked"]
        assert answers[0].content == answers[1].content and answers[0].headers["etag"] == answers[1].headers["etag"]
        # The standby answered reads (the hosts reach it with the URL in its secret file); when it
        # cannot, the primary answers instead, which would pass everything above unnoticed.
        served = {}
        for line in hosts[0].get("/metrics").text.splitlines():
            if line.startswith("registry_replica_answers{"):
                served[line.split('by="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
        assert served.get("replica", 0) > 0, served
    finally:
        for host in hosts:
            host.close()


def test_a_key_rotated_through_one_host_signs_on_the_others(cluster, acme):
    hosts = [cluster.host(n) for n in (1, 2, 3)]
    try:
        before = verification_method(issue(hosts[2], acme, "di@example.org")["document"])
        rotated = hosts[0].post("/issuers/acme/keys/rotate", json={}, headers=acme["auth"])
        assert rotated.status_code == 200, rotated.text
        new_key = rotated.json()["id"]
        assert new_key != before
        for n, host in ((2, hosts[1]), (3, hosts[2])):
            document = issue(host, acme, f"host{n}@example.org")["document"]
            assert verification_method(document) == new_key, f"host {n} signed with another key"
            with cluster.https() as client:
                assert client.post("/verify", json=document).json()["verdict"] == "VALID"
    finally:
        for host in hosts:
            host.close()


def test_a_host_killed_costs_no_request_and_the_health_check_takes_it_out(cluster, acme):
    victim = next(p for p in cluster.state["processes"] if p["name"] == "api-3")
    with cluster.https() as client:
        known = issue(client, acme, "ev@example.org")["id"]
        os.killpg(victim["pgid"], signal.SIGKILL)
        killed_at = time.monotonic()
        while Path(f"/proc/{victim['pid']}").exists():  # gone (a write it was doing is its client's to retry)
            assert time.monotonic() - killed_at < 10, "the killed host did not go"
            time.sleep(0.01)
        # Before the health checks notice (up to inter 2s x fall 3), HAProxy meets refused
        # connections and sends the request to another host: no request fails.
        for n in range(12):
            assert client.get(f"/credentials/{known}/status").status_code == 200
            if n % 4 == 0:
                issue(client, acme, f"during{n}@example.org")
        while True:
            found = json.loads(cluster.script("status", "--json", check=False).stdout)
            if found["haproxy_servers"].get("api-3") == "DOWN":
                break
            assert time.monotonic() - killed_at < 15, f"HAProxy still sends to the dead host: {found['haproxy_servers']}"
            time.sleep(0.5)
        assert {k: v for k, v in found["haproxy_servers"].items() if k != "api-3"} == {"api-1": "UP", "api-2": "UP"}
        assert not next(p for p in found["parts"] if p["name"] == "api-3")["running"]
        assert found["healthy"] is False and cluster.script("status", check=False).returncode == 1
        for n in range(6):
            assert client.get(f"/credentials/{known}/status").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_down_leaves_nothing_behind(cluster):
    state = cluster.state
    pids = [(p["pid"], p["started"]) for p in state["processes"] + state["postgres"]]
    done = cluster.script("down")
    assert "no process or port left" in done.stdout
    assert not cluster.dir.exists()
    for pid, started in pids:  # each recorded process is gone (or its pid belongs to another by now)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            assert fields[0] == "Z" or int(fields[19]) != started, f"process {pid} is still running"
        except FileNotFoundError:
            pass
    left = []
    for entry in Path("/proc").iterdir():  # nothing carries the cluster's mark or names its directory
        if entry.name.isdigit():
            try:
                if str(cluster.dir).encode() in (entry / "cmdline").read_bytes() or \
                        f"{MARKER}={cluster.dir}".encode() in (entry / "environ").read_bytes():
                    left.append(entry.name)
            except OSError:
                continue
    assert not left, f"processes of the cluster left: {left}"
    for name, port in state["ports"].items():
        with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
            probe.settimeout(2)
            probe.connect(("127.0.0.1", port))
    assert "nothing in" in cluster.script("down").stdout  # again: nothing to do, exit 0
