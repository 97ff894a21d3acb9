"""Running the registry: `registry init`, `demo`, `export`, `serve` and `apikey ...`."""

from __future__ import annotations

import json
import sys

from registry.cli.output import emit
from registry.errors import InputError


def register(grammar) -> None:
    p = grammar.command("init", "create the data directory, event store, read models and keystore; migrate "
                                "the store's tables of an older release (read models of an older layout are "
                                "rebuilt)", init)
    p.set_defaults(standalone=True)  # migrates before the registry is opened (below)
    p.add_argument("--app-role", metavar="ROLE",
                   help="PostgreSQL: grant an existing role what the service needs (append and read "
                        "events), never UPDATE/DELETE/TRUNCATE; run as the table owner")
    grammar.command("demo", "load a realistic SoftSkills4EU badge ecosystem (safe to run twice)", demo)
    grammar.command("export", "every stored event as JSON lines, in log order: line i+1 is the entry of leaf i of "
                              "the transparency log", export).add_argument("--out")
    grammar.command("import", "load an export into an empty store (or finish an interrupted import); the log's "
                              "roots come out identical", import_export).add_argument("file")

    p = grammar.command("serve", "run the HTTP API (uvicorn) over the configured store", serve)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with its own app")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])

    keys = grammar.group("apikey", "API keys for the HTTP API's writes")
    p = grammar.command("create", "make a key for an issuer (or --admin); prints it once, on the last line",
                        create_key, keys)
    p.add_argument("slug", nargs="?", help="the issuer the key acts for")
    p.add_argument("--admin", action="store_true", help="a registry admin key (registers issuers)")
    grammar.command("list", "list keys (ids and scopes, never the keys)", list_keys, keys)
    grammar.command("revoke", "revoke a key by its id", revoke_key, keys).add_argument("key_id")


def init(_, args) -> int:
    """The schema migrations run before the registry is opened, so that its start-up (which creates
    what is missing) meets the tables of this release's layout, then again in Registry.init (where a
    database start-up has just created is stamped; a second run changes nothing)."""
    from registry.bootstrap import open_registry
    from registry.settings import Settings
    from registry.store import migrations

    before = migrations.upgrade(Settings.from_environ().store)
    registry = open_registry()
    try:
        rebuilt = registry.init(args.app_role)
        revision = registry.migrated.after
        upgraded = before.after is not None and before.changed  # None: empty, start-up created it
        schema = f"schema {revision}" + (f" (upgraded from {before.before or 'the release before migrations'})"
                                          if upgraded else "")
        note = f"; rebuilt read models {', '.join(rebuilt)}" if rebuilt else ""
        emit(args, f"registry ready: {registry.description}; {schema}; keys in {registry.settings.keys_dir}{note}",
             {"store": registry.description, "keys": str(registry.settings.keys_dir), "rebuilt": rebuilt,
              "schema": revision, "upgraded": upgraded, "from": before.before})
    finally:
        registry.close()
    return 0


def demo(registry, args) -> int:
    from registry.demo import run_demo

    return run_demo(registry, as_json=args.json)


def export(registry, args) -> int:
    """Line i+1 is exactly the entry of leaf i of the transparency log (registry.log.entries)."""
    out = open(args.out, "wb") if args.out else sys.stdout.buffer
    try:
        for entry in registry.queries.log.entries():
            out.write(entry + b"\n")
        out.flush()
    finally:
        if args.out:
            out.close()
    return 0


def serve(registry, args) -> int:
    import uvicorn

    if args.workers < 1:
        raise InputError("--workers", f"must be at least 1, got {args.workers}")
    if not 0 < args.port < 65536:
        raise InputError("--port", f"must be 1-65535, got {args.port}")
    print(f"registry API on http://{args.host}:{args.port} ({args.workers} worker(s)); "
          f"store: {registry.description}", flush=True)
    mismatch = public_url_mismatch(registry.settings.config.public_url, args.host, args.port)
    if mismatch:
        print(f"registry: warning: {mismatch}", file=sys.stderr, flush=True)
    registry.close()  # each worker process opens its own
    # An import string and a factory: every worker process opens its own registry.
    uvicorn.run("registry.api.app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, proxy_headers=True)
    return 0


LOOPBACK = ("localhost", "127.0.0.1", "::1")
ALL_INTERFACES = ("0.0.0.0", "::", "")


def public_url_mismatch(public_url: str, host: str, port: int) -> str | None:
    """Why the address served disagrees with the public URL that every did:web, achievement and
    status list is named under, when it does: a loopback public URL (the default one, or a local
    REGISTRY_PUBLIC_URL) is where this very server must answer. A public name elsewhere is taken
    to sit in front of a proxy, whose port may be anything."""
    from urllib.parse import quote, urlsplit

    parts = urlsplit(public_url)
    public_host = (parts.hostname or "").lower()
    if public_host not in LOOPBACK and not public_host.startswith("127."):
        return None
    if parts.scheme == "https":  # `serve` speaks plain http: a TLS proxy (deploy/local-cluster's HAProxy) is in front
        return None
    public_port = parts.port or (443 if parts.scheme == "https" else 80)
    local = host in LOOPBACK or host.startswith("127.") or host in ALL_INTERFACES
    if public_port == port and local:
        return None
    name = "localhost" if host in ALL_INTERFACES else f"[{host}]" if ":" in host else host
    served = f"http://{name}:{port}"
    did_host = quote(parts.netloc, safe="")
    return (f"serving on {served}, but the registry publishes its DIDs and documents under {public_url} "
            f"(did:web:{did_host}:...; REGISTRY_PUBLIC_URL, default http://localhost:8000): "
            f"set REGISTRY_PUBLIC_URL={served} or serve there")


def create_key(registry, args) -> int:
    if args.admin == bool(args.slug):
        raise InputError("slug", "apikey create needs an issuer slug or --admin (not both)")
    slug = None
    if args.slug:
        slug = registry.queries.issuer(args.slug).slug  # NotFound for an unknown issuer: no key for nobody
    key, record = registry.access.keys.create(issuer=slug)
    if args.json:
        print(json.dumps({"id": record.id, "scope": record.scope, "created_at": record.created_at}))
    else:
        print(f"API key {record.id} for {record.scope}; it is shown only now:")
    print(key)
    return 0


def list_keys(registry, args) -> int:
    records = registry.access.keys.records()
    if args.json:
        print(json.dumps([{"id": r.id, "scope": r.scope, "created_at": r.created_at,
                           "revoked_at": r.revoked_at} for r in records]))
    else:
        for r in records:
            print(f"{r.id}\t{r.scope}\t{r.created_at}\t{'revoked ' + r.revoked_at if r.revoked_at else 'active'}")
    return 0


def revoke_key(registry, args) -> int:
    record = registry.access.keys.revoke(args.key_id)
    if args.json:
        print(json.dumps({"id": record.id, "scope": record.scope, "revoked_at": record.revoked_at}))
    else:
        print(f"revoked {record.id} ({record.scope})")
    return 0


def import_export(registry, args) -> int:
    import base64
    from pathlib import Path

    path = Path(args.file)
    if not path.is_file():
        raise InputError("file", f"no such file: {args.file}")
    with path.open("rb") as lines:
        size, root = registry.restore(lines, args.file)
    encoded = base64.b64encode(root).decode()
    emit(args, f"imported: the log holds {size} events, root {encoded}", {"size": size, "root": encoded})
    return 0
