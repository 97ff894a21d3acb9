"""`registry issuer ...`, `registry did` and `registry keys ...`: organisations, their DID
documents and their signing keys."""

from __future__ import annotations

import json

import msgspec

from registry.cli.images import image_option
from registry.cli.imports import prove_ob2_command
from registry.cli.output import AT_HELP, actor, emit, instant, parse_json, written
from registry.errors import InputError
from registry.domain.issuer import ORGANISATION_KINDS
from registry.vc.openbadges import parse_datetimez


def register(grammar) -> None:
    issuer = grammar.group("issuer", "organisations")
    p = grammar.command("register", "register an organisation (hosted did:web, or --did did:key:...)",
                        register_issuer, issuer)
    p.add_argument("--slug", required=True)
    p.add_argument("--name", required=True)
    profile_options(p)
    p.add_argument("--did", help="an external issuer's did:key or own did:web; it signs for itself")
    p.add_argument("--public-key", metavar="MULTIKEY", help="with a did:web --did: the key (z6Mk...) its DID document lists")
    grammar.command("show", "show an organisation and its key history", show, issuer).add_argument("slug")
    grammar.command("list", "list organisations, in the order they registered", list_issuers, issuer)
    prove_ob2_command(grammar, issuer)
    p = grammar.command("update", "change an organisation's profile (options left out stay as they are)",
                        update, issuer)
    p.add_argument("slug")
    p.add_argument("--name")
    profile_options(p)
    p = grammar.command("deactivate", "stop an organisation issuing and endorsing (what it signed stays valid)",
                        deactivate, issuer)
    p.add_argument("slug")
    p.add_argument("--reason", required=True)

    grammar.command("did", "print an issuer's DID document", did).add_argument("slug")

    keys = grammar.group("keys", "signing keys (`registry keys SLUG` shows them)")
    grammar.command("rotate", "retire the active key and activate a new one", rotate, keys).add_argument("slug")
    p = grammar.command("compromise", "distrust a key from a moment on", compromise, keys)
    p.add_argument("slug")
    p.add_argument("--key", required=True, help="verification method id or its Multikey")
    p.add_argument("--since", required=True, help="ISO 8601 with offset, e.g. 2026-05-01T12:00:00Z")
    p = grammar.command("show", "an organisation's keys and their state, now or --at an instant "
                                "(also: registry keys SLUG; exit 1 when it had none)", show_keys, keys)
    p.add_argument("slug")
    p.add_argument("--at", help=AT_HELP)
    p = grammar.command("affected", "the credentials a key compromise invalidates (re-issue them with "
                                    "`registry reissue --affected SLUG`); exit 1 when none", affected, keys)
    p.add_argument("slug")
    p.add_argument("--key", help="only those of this key (verification method id, fragment or Multikey)")


def profile_options(p) -> None:
    """What an organisation's profile says, the same options for register and update."""
    p.add_argument("--url")
    p.add_argument("--email")
    p.add_argument("--description")
    p.add_argument("--kind", choices=ORGANISATION_KINDS, help="the kind of stakeholder (counted in KPIs)")
    p.add_argument("--image", help="the organisation's image: a URL, or a PNG/SVG file to store (registry image add)")
    p.add_argument("--phone")
    p.add_argument("--address", metavar="JSON", help='an OB Address, e.g. \'{"streetAddress": "Markt 1", '
                   '"postalCode": "1234 AB", "addressLocality": "Rivierstad", "addressCountry": "NL"}\'')
    p.add_argument("--identifier", action="append", metavar="TYPE=VALUE",
                   help="another identifier of the organisation (OB otherIdentifier), e.g. "
                        "identifier=KvK-12345678 or sourcedId=...; repeat for more")


def view(registry, slug: str) -> dict:
    issuer = registry.queries.issuer(slug)
    keys = registry.queries.keys(issuer.id)
    return {
        "slug": issuer.slug, "name": issuer.name, "did": issuer.did, "hosted": issuer.hosted,
        "url": issuer.url, "email": issuer.email, "description": issuer.description,
        "kind": issuer.kind, "image": issuer.image, "phone": issuer.phone, "address": issuer.address,
        "other_identifier": issuer.other_identifier,
        "registered_at": issuer.registered_at, "deactivated_at": issuer.deactivated_at,
        "keys": [{"verification_method": k.verification_method, "state": k.state, "added_at": k.added_at,
                  "retired_at": k.retired_at, "compromised_since": k.compromised_since} for k in keys],
    }


def register_issuer(registry, args) -> int:
    return written(args, registry.commands.issuers.register(
        slug=args.slug, name=args.name, url=args.url, email=args.email,
        description=args.description, did=args.did, kind=args.kind, image=image_option(registry, args.image),
        key=args.public_key, **profile_parts(args), actor=actor()))


def show(registry, args) -> int:
    found = view(registry, args.slug)
    emit(args, json.dumps(found, indent=2, ensure_ascii=False), found)
    return 0


def list_issuers(registry, args) -> int:
    issuers, after = [], None
    while True:
        page = registry.queries.issuers(after=after, limit=1000)
        issuers += page.items
        if page.next_cursor is None:
            break
        after = page.next_cursor
    emit(args, "\n".join(f"{i.slug}\t{i.did}\t{i.name}" for i in issuers), msgspec.to_builtins(issuers))
    return 0


def update(registry, args) -> int:
    return written(args, registry.commands.issuers.update_profile(
        args.slug, name=args.name, url=args.url, email=args.email, description=args.description,
        kind=args.kind, image=image_option(registry, args.image), **profile_parts(args), actor=actor()))


def profile_parts(args) -> dict:
    """--phone, --address JSON and --identifier TYPE=VALUE as the profile's fields."""
    address = None
    if args.address is not None:
        address = parse_json(args.address, "--address")
        if not isinstance(address, dict):
            raise InputError("--address", "an OB Address is a JSON object")
    identifiers = None
    if args.identifier:
        identifiers = []
        for option in args.identifier:
            kind, sep, value = option.partition("=")
            if not sep or not kind.strip() or not value.strip():
                raise InputError("--identifier", f"expected TYPE=VALUE, e.g. identifier=KvK-12345678, got {option!r}")
            identifiers.append({"identifierType": kind.strip(), "identifier": value.strip()})
    return {"phone": args.phone, "address": address, "other_identifier": identifiers}


def deactivate(registry, args) -> int:
    return written(args, registry.commands.issuers.deactivate(args.slug, reason=args.reason, actor=actor()))


def did(registry, args) -> int:
    document = registry.queries.did_document(args.slug)
    emit(args, json.dumps(document, indent=2), document)
    return 0


def rotate(registry, args) -> int:
    return written(args, registry.commands.issuers.rotate_key(args.slug, actor=actor()))


def compromise(registry, args) -> int:
    since = parse_datetimez(args.since, "--since")
    return written(args, registry.commands.issuers.report_compromise(
        args.slug, verification_method=args.key, since=since, actor=actor()))


def show_keys(registry, args) -> int:
    found = registry.queries.keys(args.slug, instant(args))
    emit(args, "\n".join(f"{k.state}\t{k.added_at}\t{k.verification_method}" for k in found),
         msgspec.to_builtins(found))
    return 0 if found else 1


def affected(registry, args) -> int:
    found = registry.queries.affected(args.slug, args.key)
    emit(args, "\n".join(f"{a.credential_id}\t{a.status}\tissued {a.issued_at}\t{a.verification_method} compromised since "
                         f"{a.compromised_since}" for a in found), msgspec.to_builtins(found))
    return 0 if found else 1
