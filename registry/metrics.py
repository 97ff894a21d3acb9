"""What the registry counts for operators (Prometheus, through prometheus_client): signatures made by
key custody. The HTTP request rates and latencies are counted by Litestar's Prometheus middleware
(registry/api/operations.py), and gauges read at scrape time (projection lag, log size, events).

Metrics are process-wide, as prometheus_client keeps them: with several workers, set
PROMETHEUS_MULTIPROC_DIR (an empty directory the workers share) and /metrics adds them all up."""

from __future__ import annotations

from prometheus_client import Counter

from registry.commands.custody import KeyCustody

SIGNATURES = Counter("registry_signatures", "Signatures made by key custody (credentials, endorsements, "
                     "status lists, log checkpoints)", ["custody"])


class CountedCustody:
    """Key custody that counts every signature it makes; everything else it hands through."""

    def __init__(self, custody: KeyCustody, kind: str) -> None:
        self._custody = custody
        self._counter = SIGNATURES.labels(custody=kind)

    def generate(self) -> str:
        return self._custody.generate()

    def holds(self, public_key_multibase: str) -> bool:
        return self._custody.holds(public_key_multibase)

    def signer(self, public_key_multibase: str, verification_method: str):
        return _CountedSigner(self._custody.signer(public_key_multibase, verification_method), self._counter)

    def recipient_reference(self, email: str) -> str:
        return self._custody.recipient_reference(email)


class _CountedSigner:
    def __init__(self, signer, counter) -> None:
        self._signer = signer
        self._counter = counter
        self.verification_method = signer.verification_method

    def sign(self, data: bytes) -> bytes:
        signature = self._signer.sign(data)
        self._counter.inc()
        return signature
