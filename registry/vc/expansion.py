"""Lean JSON-LD 1.1 expansion over cached active contexts (registry.vc.jsonld_context).

It follows pyld's `_expand` / `_expand_object` / `_expand_value` step by step, for the subset the
VC 2.0, OB 3.0, extensions and status contexts need: protected terms, property- and type-scoped
contexts (type-scoped ones not propagated), @type coercion (@id, @vocab, datatypes, @json),
@container @set/@graph/@list/@language, keyword aliases, value objects, @language, inline
contexts. Anything else raises Unsupported and the caller uses pyld itself, so the output is
always pyld's expanded form (up to key order, which nothing downstream depends on).

With `report`, every key that expansion drops, or that gets its IRI only from @vocab, is
recorded by its path in the document (`credentialSubject.achievement.foo`, `proof[0].foo`)."""

from __future__ import annotations

from registry.vc.jsonld_context import (
    ISSUER_DEPENDENT,
    ActiveContext,
    Unsupported,
    initial,
    is_absolute,
    is_keyword,
)

_VALUE_OBJECT_KEYS = frozenset(("@value", "@type", "@language"))


class Expansion:
    def __init__(self, report: list[str] | None = None):
        self.report = report

    def document(self, document) -> list:
        if not isinstance(document, dict):
            raise Unsupported("document is not a JSON object")
        expanded = self.expand(initial(), None, document, False, None, "")
        if expanded is None:
            return []
        return expanded if isinstance(expanded, list) else [expanded]

    def _child(self, path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    # pyld _expand ------------------------------------------------------------------------
    def expand(self, ctx: ActiveContext, prop, element, inside_list: bool, type_scoped, path: str):
        if element is None:
            return None
        if isinstance(element, list):
            inside_list = inside_list or "@list" in ctx.info(prop).container
            out = []
            report = self.report is not None
            for i, item in enumerate(element):
                value = self.expand(ctx, prop, item, inside_list, type_scoped, f"{path}[{i}]" if report else path)
                if inside_list and isinstance(value, list):
                    value = {"@list": value}
                if value is None:
                    continue
                if isinstance(value, list):
                    out.extend(value)
                else:
                    out.append(value)
            return out
        if not isinstance(element, dict):
            if not inside_list and (prop is None or ctx.expand_key(prop)[0] == "@graph"):
                return None  # free-floating scalar
            return self.value(ctx, prop, element)

        active_iri = ctx.expand_key(prop)[0] if prop is not None else None
        property_scoped = ctx.info(prop).scoped if prop is not None else None

        # A non-propagated (type-scoped) context reverts when entering a node object,
        # but not for value objects and bare references.
        if type_scoped is None and ctx.previous is not None:
            type_scoped = ctx
        must_revert = True
        if type_scoped is not None and len(element) <= 2 and "@context" not in element:
            for key in sorted(element):
                iri = type_scoped.expand_key(key)[0]
                if iri == "@value":
                    must_revert = False
                    ctx = type_scoped
                    break
                if iri == "@id" and len(element) == 1:
                    must_revert = False
                    break
        if must_revert and ctx.previous is not None:
            ctx = ctx.previous
        if property_scoped is not None:
            ctx = ctx.scoped(property_scoped, propagate=True, override_protected=True)

        # pyld _prepare_nested_context: embedded context, then type-scoped contexts.
        if "@context" in element:
            local = element["@context"]
            if isinstance(local, dict) and len(local) == 1 and "@context" in local:
                raise Unsupported("invalid embedded context")
            ctx = ctx.embedded(local)
        type_scoped_ctx = ctx
        type_key = None
        for key in sorted(element):
            if ctx.expand_key(key)[0] != "@type":
                continue
            type_key = type_key or key
            value = element[key]
            for type_ in sorted(t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)):
                scoped = type_scoped_ctx.info(type_).scoped
                if scoped is not None and scoped is not False:
                    ctx = ctx.scoped(scoped, propagate=False, override_protected=False)

        result, type_was_array = self.expand_object(ctx, active_iri, element, type_key, type_scoped_ctx, path)
        count = len(result)
        if "@value" in result:
            if "@type" in result:
                types = result["@type"]
                if "@language" in result or type_was_array or len(types) != 1:
                    raise Unsupported("invalid value object @type")
                result["@type"] = types[0]
            if any(k not in _VALUE_OBJECT_KEYS for k in result):
                raise Unsupported("invalid value object")
            type_ = result.get("@type")
            value = result["@value"]
            if type_ == "@json":
                pass
            elif value is None:
                result = None
            elif isinstance(value, (dict, list)):
                raise Unsupported("@value must be a scalar")
            elif "@language" in result and not isinstance(value, str):
                raise Unsupported("only strings may be language-tagged")
            elif type_ is not None and not (isinstance(type_, str) and is_absolute(type_) and not type_.startswith("_:")):
                raise Unsupported("typed value needs an absolute IRI @type")
        elif count == 1 and "@language" in result:
            result = None
        if (
            result is not None
            and not inside_list
            and (prop is None or active_iri == "@graph")
            and (count == 0 or "@value" in result or "@list" in result or (count == 1 and "@id" in result))
        ):
            result = None  # dropped free-floating top-level object
        return result

    # pyld _expand_object ------------------------------------------------------------------
    def expand_object(self, ctx: ActiveContext, active_iri, element: dict, type_key, type_scoped_ctx, path):
        result: dict = {}
        type_was_array = False
        is_json_type = False
        if type_key is not None:
            declared = element[type_key]
            first = declared[0] if declared and isinstance(declared, list) else declared
            is_json_type = isinstance(first, str) and ctx.expand_key(first)[0] == "@json"
        report = self.report
        for key in sorted(element):
            if key == "@context":
                continue
            value = element[key]
            iri, how, kept = ctx.expand_key(key)
            if not kept:
                if report is not None:
                    report.append(self._child(path, key))
                continue
            if how == "vocab" and report is not None and ctx.vocab == ISSUER_DEPENDENT:
                # A context that sets @vocab on purpose (the W3C examples context) defines its
                # terms that way; VC 2.0's issuer-dependent namespace is a catch-all, not a meaning.
                report.append(self._child(path, key))
            if is_keyword(iri):
                if active_iri == "@reverse" or (iri in result and iri != "@type"):
                    raise Unsupported(f"keyword {iri} here")
                if iri == "@id":
                    if not isinstance(value, str):
                        raise Unsupported("@id must be a string")
                    result["@id"] = ctx.document_iri(value)
                elif iri == "@type":
                    values = value if isinstance(value, list) else [value]
                    if not all(isinstance(v, str) for v in values):
                        raise Unsupported("@type must be strings")
                    type_was_array = type_was_array or isinstance(value, list)
                    expanded = [type_scoped_ctx.vocab_iri(v) for v in values]
                    if any(not isinstance(t, str) for t in expanded):
                        raise Unsupported("@type value is not an IRI")
                    if expanded:
                        result.setdefault("@type", []).extend(expanded)
                elif iri == "@value":
                    if isinstance(value, (dict, list)) and not is_json_type:
                        raise Unsupported("@value must be a scalar")
                    result["@value"] = value
                elif iri == "@language":
                    if value is None:
                        continue
                    if not isinstance(value, str):
                        raise Unsupported("@language must be a string")
                    result["@language"] = value.lower()
                else:
                    raise Unsupported(f"keyword {iri} is outside the fast subset")
                continue

            info = ctx.info(key)
            if info.mapping is not None and info.mapping.get("reverse"):
                raise Unsupported("reverse property")
            term_ctx = ctx
            if info.scoped is not None:
                term_ctx = ctx.scoped(info.scoped, propagate=True, override_protected=True)
            container = info.container
            child_path = self._child(path, key) if report is not None else path
            if "@language" in container and isinstance(value, dict):
                if info.direction is not None:
                    raise Unsupported("@direction")
                expanded = self.language_map(term_ctx, value)
            elif container & {"@index", "@id", "@type"} and isinstance(value, dict):
                raise Unsupported(f"{sorted(container)} container")
            elif info.coercion == "@json":
                expanded = {"@type": "@json", "@value": value}
            else:
                expanded = self.expand(term_ctx, key, value, False, None, child_path)
            if expanded is None:
                continue
            if "@list" in container and not (isinstance(expanded, dict) and "@list" in expanded):
                expanded = {"@list": expanded if isinstance(expanded, list) else [expanded]}
            if "@graph" in container and "@id" not in container and "@index" not in container:
                expanded = [{"@graph": [v]} for v in (expanded if isinstance(expanded, list) else [expanded])]
            mapping = term_ctx.info(key).mapping
            if mapping is not None and mapping.get("reverse"):
                raise Unsupported("reverse property")
            values = result.setdefault(iri, [])
            if isinstance(expanded, list):
                values.extend(expanded)
            else:
                values.append(expanded)
        return result, type_was_array

    # pyld _expand_language_map -------------------------------------------------------------
    def language_map(self, ctx: ActiveContext, language_map: dict) -> list:
        out = []
        for key in sorted(language_map):
            values = language_map[key]
            none = ctx.expand_key(key)[0] == "@none"
            for item in values if isinstance(values, list) else [values]:
                if item is None:
                    continue
                if not isinstance(item, str):
                    raise Unsupported("language map values must be strings")
                out.append({"@value": item} if none else {"@value": item, "@language": key.lower()})
        return out

    # pyld _expand_value --------------------------------------------------------------------
    def value(self, ctx: ActiveContext, prop, value):
        if value is None:
            return None
        iri = ctx.expand_key(prop)[0]
        info = ctx.info(prop)
        coercion = info.coercion
        if isinstance(value, str):
            if coercion == "@id" or iri == "@graph":
                return {"@id": ctx.document_iri(value)}
            if coercion == "@vocab":
                return {"@id": ctx.vocab_iri(value)}
        if iri is not None and is_keyword(iri):
            raise Unsupported(f"scalar under keyword {iri}")
        if coercion is not None and coercion not in ("@id", "@vocab", "@none"):
            return {"@type": coercion, "@value": value}
        if isinstance(value, str):
            if info.mapping is None and prop in ctx.terms:
                language = None  # term explicitly mapped to null
            else:
                language = info.language if info.has_language else ctx.language
            if info.direction is not None:
                raise Unsupported("@direction")
            if language is not None:
                return {"@value": value, "@language": language}
        elif not isinstance(value, (bool, int, float)):
            raise Unsupported("not a JSON value")
        return {"@value": value}
