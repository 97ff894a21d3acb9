"""Whether a JSON-LD context may be pinned as an extension of Open Badges 3.0: a conformant JSON-LD
processor (pyld) must accept it where credentials will use it, after VC 2.0, OB 3.0.3 and the OB
extensions context, without redefining a protected term of theirs (those terms' meaning is what
every verifier relies on), and without reaching for a context that is not pinned. A refusal is
one line naming pyld's reason."""

from __future__ import annotations

import json

from pyld import jsonld as pyld

from registry.vc import contexts, json_text
from registry.vc.errors import DocumentError, UnknownContextError
from registry.vc.jsonld_context import LOCK
from registry.vc.openbadges import CREDENTIAL_CONTEXTS


def _skeleton(url: str) -> dict:
    """The smallest credential whose expansion applies every type-scoped context OB 3.0.3 defines
    on the way to an embedded Achievement, on top of the candidate: a protected term of the
    candidate that those contexts redefine is refused here, not in the first credential."""
    return {
        "@context": [*CREDENTIAL_CONTEXTS, url],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:example:issuer", "type": ["Profile"], "name": "Issuer"},
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": {"id": "https://example.org/achievement", "type": ["Achievement"], "name": "Achievement",
                            "criteria": {"narrative": "Criteria."}, "description": "Description."},
            "result": [{"type": ["Result"], "value": "1"}],
        },
        "credentialSchema": [{"id": "https://example.org/schema.json", "type": "1EdTechJsonSchemaValidator2019"}],
    }


def parse(text: str) -> dict:
    """The context document: a JSON object with an @context that sets no @vocab."""
    try:
        document = json_text.loads(text)
    except json_text.JsonTextError as exc:
        raise DocumentError(f"the context is not JSON: {exc}") from None
    if not isinstance(document, dict) or "@context" not in document:
        raise DocumentError("a JSON-LD context document is a JSON object with an @context")
    local = document["@context"]
    for entry in local if isinstance(local, list) else [local]:
        if not isinstance(entry, (dict, str)):
            raise DocumentError(f"@context holds objects and context URLs, not {json.dumps(entry)[:80]}")
        # A @vocab would give every misspelt or undefined property of a credential a meaning under
        # the extension's namespace, so the registry could no longer refuse undefined terms.
        if isinstance(entry, dict) and "@vocab" in entry:
            raise DocumentError("an extension context may not set @vocab: every term it gives a meaning must be defined")
    return document


def check(url: str, text: str) -> dict:
    """The parsed context, or DocumentError with the reason a JSON-LD processor refuses it."""
    candidate = parse(text)
    problem = _refusal(url, candidate)
    if problem is None:
        return candidate
    cause, code = problem
    if code == "protected term redefinition":
        term = _offending_term(url, candidate)
        if term is not None:
            cause = f"{cause.rstrip('.')}: {term!r}"
    raise DocumentError(f"a JSON-LD processor (pyld) rejects the context: {cause}")


def _refusal(url: str, candidate: dict) -> tuple[str, str | None] | None:
    """None when pyld expands the skeleton credential under the candidate; else (reason, code)."""
    def loader(requested: str, options: dict | None = None) -> dict:
        if requested == url:
            return {"contextUrl": None, "documentUrl": url, "document": candidate}
        return contexts.document_loader(requested, options)

    try:
        with LOCK:  # pyld's shared caches are not thread safe
            pyld.expand(_skeleton(url), {"documentLoader": loader})
    except pyld.JsonLdError as exc:
        return _reason(exc)
    except RecursionError:
        return "the context refers to itself without end", None
    return None


def _reason(exc: BaseException) -> tuple[str, str | None]:
    """The innermost JSON-LD error's message and code (pyld wraps each in the next), in one line;
    a context that is not pinned is named as such."""
    found: tuple[str, str | None] = (str(exc.args[0]) if exc.args else type(exc).__name__, getattr(exc, "code", None))
    seen = exc
    while seen is not None:
        if isinstance(seen, UnknownContextError):
            missing = seen.args[0].split("'")[1] if "'" in seen.args[0] else seen.args[0]
            return (f"it refers to the context {missing}, which is not pinned: an extension context may only "
                    "refer to contexts the registry ships or has registered", "unknown context")
        if isinstance(seen, pyld.JsonLdError) and seen.args:
            detail = seen.details if isinstance(seen.details, dict) else {}
            where = next((f" ({name} {detail[name]!r})" for name in ("term", "iri", "keyword")
                          if isinstance(detail.get(name), str)), "")
            found = (f"{seen.args[0]}{where}", seen.code)
        seen = seen.__cause__ or seen.__context__
    text, code = found
    return " ".join(text.split()), code


def _names(value: object, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        found.update(key for key in value if not key.startswith("@"))
        for item in value.values():
            _names(item, found)
    elif isinstance(value, list):
        for item in value:
            _names(item, found)
    return found


def _offending_term(url: str, candidate: dict) -> str | None:
    """pyld does not say which term redefines a protected one: the first term the credential
    contexts also name (any of their scoped contexts included) that, defined on its own (with the
    candidate's keywords), is refused the same way."""
    local = candidate["@context"]
    if not isinstance(local, dict):
        return None
    theirs: set[str] = set()
    for shipped in CREDENTIAL_CONTEXTS:
        _names(contexts.load(shipped), theirs)
    keywords = {k: v for k, v in local.items() if k.startswith("@")}
    for term, definition in local.items():
        if term.startswith("@") or term not in theirs:
            continue
        alone = _refusal(url, {"@context": {**keywords, term: definition}})
        if alone is not None and alone[1] == "protected term redefinition":
            return term
    return None
