"""The deployment files are checked, since containers cannot run here: the Kubernetes manifests against
the Kubernetes 1.37 schemas (kubernetes-validate, strict) and the registry's own rules (non-root,
read-only root, limits, probes on /healthz and /readyz, secrets 0400); the Containerfile's stages; the
compose file's references; HAProxy's configuration by `haproxy -c`; and every REGISTRY_* variable they
set is one the registry reads."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KUBERNETES = "1.37.0"


def manifests() -> list[dict]:
    found = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    template = spec.get("template", {}).get("spec", {})
    return template.get("containers", [])


def pod_spec(doc: dict) -> dict:
    return doc.get("spec", {}).get("template", {}).get("spec", {})


def known_settings() -> set[str]:
    """Every REGISTRY_* name the registry's source mentions."""
    names = set()
    for path in (ROOT / "registry").rglob("*.py"):
        names |= set(re.findall(r"REGISTRY_[A-Z0-9_]+", path.read_text()))
    return names


@pytest.mark.parametrize("doc", manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_is_valid_kubernetes(doc):
    import kubernetes_validate

    kubernetes_validate.validate(doc, KUBERNETES, strict=True)  # raises with the schema's words


def test_the_workloads_follow_the_registrys_rules():
    docs = manifests()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "api"), ("Deployment", "projections"), ("Job", "init-0-1-0"), ("Service", "api"),
            ("PodDisruptionBudget", "api"), ("StatefulSet", "postgres")} <= kinds
    workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]
    for doc in workloads:
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        for container in containers(doc):
            assert container["resources"]["limits"] and container["resources"]["requests"], container["name"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
            if container["name"] != "postgres":  # the database writes its own files
                assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["defaultMode"] == 0o400  # the registry refuses secrets others may read
    api = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "api")
    probe = containers(api)[0]
    assert probe["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert probe["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["spec"]["replicas"] == 3
    budget = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"] == api["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["minAvailable"] < api["spec"]["replicas"]


def test_every_registry_setting_the_files_name_is_one_the_registry_reads():
    known = known_settings()
    named = set()
    for doc in manifests():
        named |= {k for k in doc.get("data", {}) if k.startswith("REGISTRY_")}
        for container in containers(doc):
            named |= {e["name"] for e in container.get("env", []) if e["name"].startswith("REGISTRY_")}
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in compose["services"].values():
        named |= {k for k in (service.get("environment") or {}) if k.startswith("REGISTRY_")}
    assert named and named <= known, sorted(named - known)


def test_the_container_image_is_multi_stage_non_root_and_without_compilers():
    text = (DEPLOY / "Containerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) >= 2
    final = stages[-1]
    assert re.search(r"^USER 10001$", final, re.MULTILINE)
    assert not re.search(r"build-essential|gcc|g\+\+|\bmake\b", final)
    assert "COPY --from=build /wheels" in final and "--no-index" in final
    assert "/healthz" in final and re.search(r'^ENTRYPOINT \["registry"\]$', final, re.MULTILINE)
    # What the image copies from the checkout exists.
    for source in re.findall(r"^COPY (?!--from)([^\n]+) \S+$", text, re.MULTILINE):
        for name in source.split():
            assert (ROOT / name).exists(), name


def test_the_compose_file_holds_together():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["api"]["deploy"]["replicas"] == 3 and services["projections"]["deploy"]["replicas"] == 2
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert set(depends) <= set(services), name
        for secret in service.get("secrets") or []:
            assert (secret if isinstance(secret, str) else secret["source"]) in compose["secrets"], (name, secret)
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
    assert "/healthz" in str(services["api"]["healthcheck"]["test"])
    for mounted in ("./haproxy.cfg", "./postgres-roles.sql"):
        assert (DEPLOY / mounted).is_file()
    backend = (DEPLOY / "haproxy.cfg").read_text()
    assert f"server-template api {services['api']['deploy']['replicas']} api:8000" in backend


def test_haproxy_accepts_its_configuration(tmp_path):
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if haproxy is None:
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is not installed (apt-get install haproxy)")
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    # A throwaway certificate where the secret would be mounted.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "badges.example.org")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    pem = tmp_path / "tls.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    config = tmp_path / "haproxy.cfg"
    config.write_text((DEPLOY / "haproxy.cfg").read_text().replace("/run/secrets/tls.pem", str(pem)))
    checked = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
