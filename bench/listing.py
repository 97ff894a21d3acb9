"""Listing organisations, achievements and the event log: does a page cost the same wherever it is?

100,000 organisations (each with its DID claim and first key) and 100,000 achievements are written
through the domain's aggregates into a temp SQLite store (and a throwaway PostgreSQL cluster unless
--no-postgres), the read models are caught up, and then pages of 100 are read through the queries
the HTTP API and the CLI use:

- `queries.issuers(after=cursor)`, `queries.achievements(after=cursor)`: keyset pages on the
  directory projection (the cursor is the log position of the last item shown);
- `queries.events(after=position)`: the event log itself, by position.

Every page is walked, from the first to the 1,000th, and each page's time recorded; page 1 and
page 1,000 are printed with the median and p99 over all pages. The same-run baseline is how the
registry listed organisations before (a scan of the log for DidClaim events, loading each
organisation's aggregate, counting past the items before the page), timed for pages 1, 10 and 100
and 1,000 on SQLite.

    .venv/bin/python bench/listing.py [--items 100000] [--page 100] [--no-postgres] [--no-baseline]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import throwaway_postgres  # noqa: E402 - a sibling module of this script
from registry.bootstrap import Registry, open_registry  # noqa: E402
from registry.domain import Achievement, DidClaim, Issuer  # noqa: E402
from registry.domain.identity import issuer_id  # noqa: E402

KEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"  # one public key for every organisation
DOCUMENT = '{"id": "urn:example", "type": ["Achievement"], "name": "A course"}'
SAVE = 1000  # aggregates per transaction while writing


def write(registry: Registry, items: int) -> float:
    began = time.perf_counter()
    store = registry.store
    for start in range(0, items, SAVE):
        aggregates = []
        for n in range(start, min(items, start + SAVE)):
            slug = f"org-{n:06d}"
            did = f"did:web:badges.example.org:issuers:{slug}"
            issuer = Issuer.register(slug=slug, name=f"Organisation {n:06d}", did=did, hosted=True, actor="bench")
            issuer.add_key(public_key_multibase=KEY, actor="bench")
            achievement = Achievement.define(id=Achievement.new_id(), issuer_id=issuer.id, name=f"Course {n}",
                                             document=DOCUMENT, actor="bench")
            aggregates += [issuer, DidClaim.claim(did=did, slug=slug), achievement]
        store.save(*aggregates)
    return time.perf_counter() - began


def walk(list_page, pages: int) -> list[float]:
    """Milliseconds per page, following next_cursor from the first page."""
    times, cursor = [], None
    for _ in range(pages):
        began = time.perf_counter()
        page = list_page(cursor)
        times.append((time.perf_counter() - began) * 1000)
        cursor = page.next_cursor
        if cursor is None:
            break
    return times


def old_issuer_page(registry: Registry, page: int, size: int) -> float:
    """The listing before keyset pages: every DidClaim in the log, each organisation's aggregate
    loaded, the first (page-1)*size skipped. Milliseconds."""
    began = time.perf_counter()
    found, skip = [], (page - 1) * size
    for index, claim in enumerate(registry.store.events_of(DidClaim.Claimed)):
        issuer = registry.store.repository.get(issuer_id(claim.slug))
        if index >= skip:
            found.append(issuer)
            if len(found) == size:
                break
    return (time.perf_counter() - began) * 1000


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    last = len(times)
    return (f"page 1 {times[0]:7.2f}   page {last:,} {times[-1]:7.2f}   median {statistics.median(times):6.2f}"
            f"   p99 {p99:6.2f} ms")


def measure(name: str, registry: Registry, items: int, size: int, baseline: bool) -> None:
    print(f"\n{name}: writing {items:,} organisations and {items:,} achievements ...", flush=True)
    print(f"  written in {write(registry, items):.1f} s; {registry.store.max_position():,} events")
    began = time.perf_counter()
    registry.queries.fresh()
    print(f"  read models caught up in {time.perf_counter() - began:.1f} s")
    pages = items // size
    queries = registry.queries
    for what, run in (
        ("issuers", lambda cursor: queries.issuers(after=cursor, limit=size)),
        ("achievements", lambda cursor: queries.achievements(after=cursor, limit=size)),
    ):
        times = walk(run, pages)
        print(f"  {what:<14} {len(times):,} pages of {size}: {summary(times)}")
    times = []
    for page in range(pages):
        began = time.perf_counter()
        queries.events(after=page * size, limit=size)
        times.append((time.perf_counter() - began) * 1000)
    print(f"  {'event log':<14} {len(times):,} pages of {size}: {summary(times)}")
    if baseline:
        print("  baseline, the listing before keyset pages (log scan + aggregate loads + offset):")
        for page in (1, 10, 100, pages):
            print(f"    issuers page {page:>5,}: {old_issuer_page(registry, page, size):10.1f} ms", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-listing-") as tmp:
        environ = {"REGISTRY_HOME": f"{tmp}/sqlite", "REGISTRY_KEYS": f"{tmp}/keys",
                   "REGISTRY_PUBLIC_URL": "https://badges.example.org"}
        registry = open_registry(environ)
        try:
            measure("SQLite", registry, args.items, args.page, not args.no_baseline)
        finally:
            registry.close()
        if not args.no_postgres:
            with throwaway_postgres() as url:
                registry = open_registry({**environ, "REGISTRY_HOME": f"{tmp}/pg", "REGISTRY_DATABASE_URL": url})
                try:
                    measure("PostgreSQL", registry, args.items, args.page, False)
                finally:
                    registry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
