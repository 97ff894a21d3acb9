"""The read side with a PostgreSQL hot standby (REGISTRY_REPLICA_DATABASE_URL): the questions below
are answered from the standby's copy of the read models, and by the primary when the standby cannot
have what the question needs within the bound (ReplicaBehind: the projection workers are behind or
stopped, or the request named a position replication has not brought yet), or cannot be reached.
Everything else (freshness tokens for caches, the event feed, exports, operations, what commands
read) stays on the primary. Answers are the same from either: the standby's read models are the
primary's, replayed; the wait is what makes them as fresh."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from registry.errors import Unavailable
from registry.projections.queries import Queries
from registry.projections.read_model import ReplicaBehind

# Reads over read-model tables only: safe on a read-only copy.
SERVED = frozenset({
    "issuer", "issuers", "issuers_by_name", "issuer_figures", "issuer_of_did", "keys", "keys_of", "did_document",
    "profile", "achievement", "achievements", "achievement_document", "extension_context", "credential_status",
    "credential_statuses",
    "credential", "baked", "affected", "revoked_indexes", "status_list_exists", "endorsements",
    "endorsement_document", "network", "trust_anchors", "trust_path", "chain_from_anchors", "verify", "verify_ob2",
    "imported", "imported_original", "imports", "reissue_of", "kpis", "figures", "labels",
})


class ReplicatedQueries(Queries):
    """`Queries` to the edges (Litestar checks an injected dependency's type): each question of
    SERVED tried on the standby first, every other member the primary's."""

    def __init__(self, primary: Queries, replica: Queries) -> None:  # noqa: super().__init__ not called:
        self.primary, self.replica = primary, replica  # it holds no state of its own but the count
        self.answered = {"replica": 0, "primary": 0}  # SERVED questions, by who answered (/metrics)
        self._count = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # data attributes (db, log, images, config): the primary's
        return getattr(self.primary, name)

    def _answer(self, name: str, args: tuple, kwargs: dict) -> Any:
        try:
            found = getattr(self.replica, name)(*args, **kwargs)
            by = "replica"
        except (ReplicaBehind, psycopg.OperationalError, Unavailable) as exc:
            if isinstance(exc, Unavailable) and exc.retry_after is None:
                raise  # a quarantined event: the primary's answer would be the same refusal
            found = getattr(self.primary, name)(*args, **kwargs)
            by = "primary"
        with self._count:
            self.answered[by] += 1
        return found

    def close(self) -> None:
        self.replica.read_model.close()  # the rest (log, fetcher, images) is the primary's to close
        self.primary.close()


def _routed(name: str):
    def answer(self: ReplicatedQueries, *args: Any, **kwargs: Any) -> Any:
        return self._answer(name, args, kwargs)
    answer.__name__ = name
    return answer


def _primary(name: str):
    def answer(self: ReplicatedQueries, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.primary, name)(*args, **kwargs)
    answer.__name__ = name
    return answer


for _name, _member in list(vars(Queries).items()):
    if _name.startswith("__") or _name == "close":
        continue
    if isinstance(_member, property):
        setattr(ReplicatedQueries, _name, property(lambda self, _n=_name: getattr(self.primary, _n)))
    elif callable(_member) or isinstance(_member, (staticmethod, classmethod)):
        setattr(ReplicatedQueries, _name, _routed(_name) if _name in SERVED else _primary(_name))
