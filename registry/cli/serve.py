"""`registry serve`: the HTTP API on uvicorn; `registry apikey`: the keys that authenticate writes."""

from __future__ import annotations

import json

from registry.application import Registry


def add_commands(commands, command) -> None:
    p = command(commands, "serve", "run the HTTP API (uvicorn) over the configured store")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with its own app")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=serve)

    keys = commands.add_parser("apikey", help="API keys for the HTTP API's writes").add_subparsers(
        dest="action", required=True, parser_class=type(p))
    p = command(keys, "create", "make a key for an issuer (or --admin); prints it once, on the last line")
    p.add_argument("slug", nargs="?", help="the issuer the key acts for")
    p.add_argument("--admin", action="store_true", help="a registry admin key (registers issuers)")
    p.set_defaults(handler=create_key)
    command(keys, "list", "list keys (ids and scopes, never the keys)").set_defaults(handler=list_keys)
    p = command(keys, "revoke", "revoke a key by its id")
    p.add_argument("key_id")
    p.set_defaults(handler=revoke_key)


def serve(registry: Registry, args) -> int:
    import uvicorn

    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be 1-65535, got {args.port}")
    print(f"registry API on http://{args.host}:{args.port} ({args.workers} worker(s)); "
          f"store: {registry.store_description}", flush=True)
    # An import string and a factory: every worker process opens its own Registry.
    uvicorn.run("registry.api.app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, proxy_headers=True)
    return 0


def _keys(registry: Registry):
    from registry.api.access import ApiKeys
    from registry.api.sql import Sql

    return ApiKeys(Sql(registry))


def create_key(registry: Registry, args) -> int:
    if args.admin == bool(args.slug):
        raise ValueError("apikey create needs an issuer slug or --admin (not both)")
    if args.slug:
        registry.issuer(args.slug)  # NotFound for an unknown issuer: no key for nobody
    key, record = _keys(registry).create(issuer=args.slug)
    if args.json:
        print(json.dumps({"id": record.id, "scope": record.scope, "created_at": record.created_at}))
    else:
        print(f"API key {record.id} for {record.scope}; it is shown only now:")
    print(key)
    return 0


def list_keys(registry: Registry, args) -> int:
    records = _keys(registry).records()
    if args.json:
        print(json.dumps([{"id": r.id, "scope": r.scope, "created_at": r.created_at,
                           "revoked_at": r.revoked_at} for r in records]))
    else:
        for r in records:
            print(f"{r.id}\t{r.scope}\t{r.created_at}\t{'revoked ' + r.revoked_at if r.revoked_at else 'active'}")
    return 0


def revoke_key(registry: Registry, args) -> int:
    record = _keys(registry).revoke(args.key_id)
    if args.json:
        print(json.dumps({"id": record.id, "scope": record.scope, "revoked_at": record.revoked_at}))
    else:
        print(f"revoked {record.id} ({record.scope})")
    return 0
