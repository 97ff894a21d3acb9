"""Read-your-writes across hosts (registry.store.positions) on the wire. A write's answer carries
`Registry-Position: N`, the log position it reached; a read that sends `Registry-Position: N` back,
to any host behind the same balancer, is answered only from a read side that has applied N (with a
replica: the standby, once it has it within REGISTRY_REPLICA_WAIT_SECONDS; else the primary)."""

from __future__ import annotations

from registry.errors import InputError
from registry.store.positions import MAX_POSITION, Consistency, current

HEADER = "Registry-Position"
_NAME = HEADER.lower().encode()
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def names_position() -> bool:
    """Whether the request being answered sent a position to wait for: its reads must carry it (a
    shared batch would read as whichever request began it asked)."""
    found = current.get()
    return found is not None and found.after > 0


def named_position(value: bytes) -> int:
    text = value.decode("latin-1").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_POSITION:
        raise InputError(HEADER, f"must be a log position (a whole number from 0 to {MAX_POSITION}), "
                                 f"got {text[:40]!r}")
    return int(text)


class ReadYourWrites:
    """ASGI middleware: the request's Consistency from its header, and the position its writes
    reached on the answer. A plain read naming no position costs a header scan and nothing else."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        named = next((value for name, value in scope["headers"] if name == _NAME), None)
        if named is None and scope["method"] not in _WRITES:
            await self.app(scope, receive, send)
            return
        consistency = Consistency(after=named_position(named) if named is not None else 0)
        token = current.set(consistency)

        async def sending(message) -> None:
            if message["type"] == "http.response.start" and consistency.written:
                message["headers"] = [*message.get("headers", ()), (_NAME, str(consistency.written).encode())]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            current.reset(token)
