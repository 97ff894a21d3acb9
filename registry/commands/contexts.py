"""Commands about the JSON-LD contexts the registry pins beside the ones it ships: the operator adds
a national platform's extension context (study load, ECTS, assessment type, identity checks), pinned
by its SHA-256, once a JSON-LD processor has accepted it where credentials will use it. Achievements
may then name it and use its terms (registry.commands.achievements)."""

from __future__ import annotations

import hashlib

import msgspec

from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.domain import ExtensionContext
from registry.domain.identity import extension_context_id
from registry.errors import InputError
from registry.vc import contexts, extension_contexts
from registry.vc.errors import DocumentError


class AddedContext(msgspec.Struct, frozen=True):
    url: str
    sha256: str
    added: bool  # False when the same bytes were registered under this URL before
    position: int  # the write's notification position (the log's newest when nothing was added)


class ContextCommands:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store

    def add(self, url: str, data: bytes, *, actor: Actor, sha256: str | None = None) -> AddedContext:
        """Pin `data` as the context at `url`. `sha256`, when given, must be the data's digest (the
        operator's check that the file is the one published)."""
        authorise(actor, None, "add JSON-LD contexts")
        digest = hashlib.sha256(data).hexdigest()
        if sha256 is not None and sha256.strip().lower() != digest:
            raise InputError("sha256", f"the context's SHA-256 is {digest}, not {sha256.strip()}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DocumentError("the context is not UTF-8 text") from None

        def use_case() -> AddedContext:
            existing = self.store.find(extension_context_id(url))
            if isinstance(existing, ExtensionContext):
                existing.register_again(digest)
                contexts.register(url, data, digest)
                return AddedContext(url, digest, False, self.store.max_position())
            context = ExtensionContext.register(url=url, document=text, sha256=digest, actor=actor.name,
                                                reserved=frozenset(contexts.PINNED))
            extension_contexts.check(url, text)
            position = self.store.commit(context)
            # Usable at once in this process; others learn of it at start-up or when a document
            # first names it (registry.bootstrap adds the store as a source of contexts).
            contexts.register(url, data, digest)
            return AddedContext(url, digest, True, position)

        return self.store.attempt(use_case)
