"""`registry context add URL FILE [--sha256 HEX]` (pin a JSON-LD extension context: the operator's)
and `registry context list`."""

from __future__ import annotations

from pathlib import Path

from registry.cli.output import actor, emit
from registry.domain.extension_context import MAX_BYTES
from registry.errors import InputError


def register(grammar) -> None:
    group = grammar.group("context", "JSON-LD extension contexts achievements may use (pinned by SHA-256)")
    p = grammar.command("add", "pin an extension context: checked by a JSON-LD processor, then usable by "
                               "achievement definitions that name it in @context", add, group)
    p.add_argument("url", help="the https URL documents name the context by")
    p.add_argument("file", help="the context document, exactly as published at the URL")
    p.add_argument("--sha256", metavar="HEX", help="refuse unless the file has this SHA-256 (as published)")
    grammar.command("list", "list the registered extension contexts", list_contexts, group)


def add(registry, args) -> int:
    file = Path(args.file)
    if not file.is_file():
        raise InputError(args.file, "no such file")
    if file.stat().st_size > MAX_BYTES:
        raise InputError(args.file, f"is {file.stat().st_size:,} bytes; a context may be at most {MAX_BYTES // 1024} KiB")
    added = registry.commands.contexts.add(args.url, file.read_bytes(), sha256=args.sha256, actor=actor())
    emit(args, f"{added.url}\t{added.sha256}", {"url": added.url, "sha256": added.sha256, "added": added.added,
                                                "position": added.position})
    return 0


def list_contexts(registry, args) -> int:
    found = registry.queries.extension_contexts()
    emit(args, "\n".join(f"{c.url}\t{c.sha256}\t{c.registered_at}" for c in found),
         [{"url": c.url, "sha256": c.sha256, "registered_at": c.registered_at, "registered_by": c.registered_by}
          for c in found])
    return 0
