"""Conformance of credentials to the 1EdTech Open Badges 3.0 JSON Schemas (draft 2019-09).

Like 1EdTech's validator, a single value where the schema expects an array (a W3C-style lone
`proof` object, `"type": "OpenBadgeCredential"`) is read as a one-element array and reported as a
warning naming its path; every other violation is an error with its JSON path."""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from importlib import resources

import jsonschema_rs
import msgspec
from jsonschema import Draft201909Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from registry.vc.errors import DocumentError
from registry.vc.openbadges import parse_datetimez

ACHIEVEMENT_CREDENTIAL = "ob_v3p0_achievementcredential_schema"
ENDORSEMENT_CREDENTIAL = "ob_v3p0_endorsementcredential_schema"

_SCHEMA_BY_TYPE = {
    "OpenBadgeCredential": ACHIEVEMENT_CREDENTIAL,
    "AchievementCredential": ACHIEVEMENT_CREDENTIAL,
    "EndorsementCredential": ENDORSEMENT_CREDENTIAL,
}

_MAX_MESSAGE = 300  # jsonschema messages embed the offending value; keep reports readable


class SchemaCheck(msgspec.Struct, frozen=True):
    ok: bool
    schema: str | None
    errors: list[str]
    warnings: list[str]


# jsonschema checks "date-time" only with an optional extra package; OB's DateTimeZ is stricter
# than RFC 3339 anyway, so both formats the schemas use are checked here.
_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=DocumentError)
def _is_datetimez(value: object) -> bool:
    if isinstance(value, str):
        parse_datetimez(value)
    return True


@_formats.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or (len(value) == 10 and date.fromisoformat(value) is not None)


def _conforms_to_datetimez(value: str) -> bool:
    try:
        return _is_datetimez(value)
    except DocumentError:
        return False


def _conforms_to_date(value: str) -> bool:
    try:
        return _is_date(value)
    except ValueError:
        return False


@cache
def _fast_validator(name: str) -> jsonschema_rs.Draft201909Validator:
    """The same schema and formats in a compiled validator: answers "conforms?" about 100x faster
    than jsonschema, so verification pays for the detailed path only when a document does not."""
    text = resources.files("registry.vc").joinpath("schemas", f"{name}.json").read_text("utf-8")
    return jsonschema_rs.Draft201909Validator(
        json.loads(text), validate_formats=True, offline=True,
        formats={"date-time": _conforms_to_datetimez, "date": _conforms_to_date},
    )


@cache
def _validator(name: str) -> Draft201909Validator:
    text = resources.files("registry.vc").joinpath("schemas", f"{name}.json").read_text("utf-8")
    schema = json.loads(text)
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=_formats)


def _types(document: dict) -> list:
    value = document.get("type")
    return [value] if isinstance(value, str) else value if isinstance(value, list) else []


def schema_for(document: dict) -> str | None:
    """The name of the schema a credential is checked against, by its `type`."""
    names = {_SCHEMA_BY_TYPE[t] for t in _types(document) if isinstance(t, str) and t in _SCHEMA_BY_TYPE}
    return names.pop() if len(names) == 1 else None


def check(document: dict) -> SchemaCheck:
    """Whether a credential conforms to the 1EdTech schema its `type` selects."""
    if not isinstance(document, dict):
        return SchemaCheck(False, None, [f"a credential is a JSON object, got {type(document).__name__}"], [])
    name = schema_for(document)
    if name is None:
        return SchemaCheck(
            False,
            None,
            [
                f"type {document.get('type')!r} names none or several of AchievementCredential, "
                "OpenBadgeCredential, EndorsementCredential, so no 1EdTech schema applies"
            ],
            [],
        )
    if _fast_validator(name).is_valid(document):
        return SchemaCheck(True, name, [], [])
    return _conform(name, _validator(name), document)


def check_part(document: dict, definition: str) -> SchemaCheck:
    """Whether an embedded object (a Profile, an Achievement, ...) conforms to that definition
    of the AchievementCredential schema; lets the registry check parts before it issues them."""
    return _conform(f"{ACHIEVEMENT_CREDENTIAL}#/$defs/{definition}", _part_validator(definition), document)


@cache
def _part_validator(definition: str) -> Draft201909Validator:
    root = _validator(ACHIEVEMENT_CREDENTIAL).schema
    if definition not in root["$defs"]:
        raise DocumentError(f"the AchievementCredential schema defines no {definition!r}")
    # Only $ref and $defs: in draft 2019-09 a $ref beside the root's own keywords would apply both.
    part = {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft201909Validator(part, format_checker=_formats)


def _conform(name: str, validator: Draft201909Validator, document: object) -> SchemaCheck:
    document = copy.deepcopy(document)
    warnings: list[str] = []
    tried: set[tuple] = set()
    while True:
        errors = list(validator.iter_errors(document))
        wrapped = None
        for error in errors:
            for path in _single_value_paths(error):
                if path in tried:
                    continue
                tried.add(path)
                candidate = _wrap_at(document, path)
                # Keep the reading only if it settles the violation that suggested it (inside a
                # oneOf another branch may be the one meant, and then this is a real error).
                if not any(_same_violation(error, e) for e in validator.iter_errors(candidate)):
                    wrapped = candidate
                    warnings.append(
                        f"{_json_path(path)}: a single value where an array is expected "
                        "(read as a one-element array)"
                    )
                    break
            if wrapped is not None:
                break
        if wrapped is None:
            messages = [_describe(e) for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))]
            return SchemaCheck(not messages, name, messages, warnings)
        document = wrapped


def _single_value_paths(error: ValidationError) -> list[tuple]:
    """Paths (inside this error or its oneOf/anyOf alternatives) holding a non-array where an
    array is required."""
    found = []
    expected = error.validator_value
    if (
        error.validator == "type"
        and (expected == "array" or (isinstance(expected, list) and expected == ["array"]))
        and not isinstance(error.instance, list)
    ):
        found.append(tuple(error.absolute_path))
    for sub in error.context or ():
        found.extend(_single_value_paths(sub))
    return found


def _same_violation(before: ValidationError, after: ValidationError) -> bool:
    return before.absolute_path == after.absolute_path and before.validator == after.validator


def _wrap_at(document: object, path: tuple) -> object:
    if not path:
        return [document]
    result = copy.deepcopy(document)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = [parent[path[-1]]]
    return result


def _json_path(path: tuple) -> str:
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


def _describe(error: ValidationError) -> str:
    message = error.message
    if error.context:
        # For oneOf/anyOf say why the closest alternative failed, not only that none matched.
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.schema_path)))
        message = f"{message} (closest: {_json_path(tuple(deepest.absolute_path))}: {deepest.message})"
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    return f"{_json_path(tuple(error.absolute_path))}: {message}"
