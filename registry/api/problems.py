"""Every error as RFC 9457 problem details (application/problem+json): a status, a title, a one-line
`detail` and, where known, the offending `field`. The status follows whose fault it is:

- a rule of the registry refused the command (registry.domain): 404, 403, 409, or 422 naming it;
- input that cannot be used: 400 (a parameter, a header, malformed JSON) or 422 (a well-formed body
  or document the registry refuses), with the field;
- access (registry.access): 401, 429, or the idempotency key's 409/422;
- the answer cannot be given now (`Unavailable`): 503; when the database is out of reach (a
  restarting PostgreSQL, a SQLite write lock that stayed taken) with Retry-After;
- anything else is the registry's own fault: 500 with an opaque `problem_id`, under which the
  traceback is logged. It is never reported as the user's mistake.

`classify` is the one mapping; the JSON API and the HTML pages render what it says."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from http import HTTPStatus

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from registry.access import AccessError
from registry.domain import AlreadyExists, DomainError, InvalidTransition, NotAuthorised, NotFound
from registry.errors import InputError, Unavailable
from registry.store import ConflictError, is_outage, unavailable
from registry.vc.errors import DocumentError

PROBLEM = "application/problem+json"
log = logging.getLogger("registry.api")

# msgspec says where a value failed: "... - at `$.data.awards[0].recipient`".
_AT = re.compile(r" - at `\$(?:\.data)?\.?([^`]*)`$")


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = None
    problem_id: str | None = None  # only for 500: the id the traceback was logged under


@dataclass(frozen=True)
class Classified:
    status: int
    detail: str
    field: str | None = None
    problem_id: str | None = None
    headers: dict[str, str] | None = None


def classify(request: Request, exc: Exception) -> Classified:
    if isinstance(exc, DomainError):
        return Classified(_domain_status(exc), str(exc))
    if isinstance(exc, ConflictError):
        return Classified(409, str(exc))
    if isinstance(exc, InputError):
        return Classified(400, str(exc), exc.field)
    if isinstance(exc, DocumentError):
        return Classified(422, str(exc))
    if isinstance(exc, AccessError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return Classified(exc.status, str(exc), headers=headers)
    if isinstance(exc, Unavailable):
        return _unavailable(exc)
    if is_outage(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return _unavailable(unavailable(exc))
    if isinstance(exc, ValidationException):
        return _validation(exc)
    if isinstance(exc, HTTPException):
        detail = str(exc.detail)
        if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
            detail = f"the body is not valid JSON: {exc.__cause__}"
        return Classified(exc.status_code, detail, headers=dict(exc.headers or {}))
    problem_id = str(uuid.uuid4())
    log.error("problem %s: unexpected error on %s %s", problem_id, request.method, request.url.path,
              exc_info=exc)
    return Classified(500, f"the registry failed to answer; the error was logged as problem {problem_id}",
                      problem_id=problem_id)


def _unavailable(exc: Unavailable) -> Classified:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return Classified(503, str(exc), headers=headers)


def _domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAuthorised):
        return 403
    if isinstance(exc, (AlreadyExists, InvalidTransition)):
        return 409
    return 422


def _validation(exc: ValidationException) -> Classified:
    """Litestar's refusal of a body or parameter: a well-formed body with a wrong or missing field is
    422; a bad query or path parameter is 400. The field is named."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    if first.get("source") == "body":
        match = _AT.search(str(exc.__cause__ or ""))
        field = match.group(1) if match and match.group(1) else _missing_field(first.get("message", ""))
        return Classified(422, f"{first.get('message', exc.detail)}{f' at {field}' if field else ''}",
                          field or "body")
    if first:
        key = str(first.get("key", ""))
        return Classified(400, f"{key}: {first.get('message', exc.detail)}", key or None)
    named = re.search(r"parameter '([^']+)'", str(exc.detail))
    return Classified(400, str(exc.detail), named.group(1) if named else None)


def _missing_field(message: str) -> str:
    match = re.search(r"(?:field|unknown field) `([^`]+)`", message)
    return match.group(1) if match else ""


def problem(request: Request, found: Classified) -> Response:
    body = Problem(type="about:blank", title=HTTPStatus(found.status).phrase, status=found.status,
                   detail=found.detail, instance=request.url.path, field=found.field or None,
                   problem_id=found.problem_id)
    return Response(content=msgspec.json.encode(body), status_code=found.status, media_type=PROBLEM,
                    headers=found.headers)


def problem_details(request: Request, exc: Exception) -> Response:
    return problem(request, classify(request, exc))


def undecodable(request: Request, exc: UnicodeDecodeError) -> Response:
    return problem(request, Classified(400, f"the request is not UTF-8 text: {exc.reason} at byte {exc.start}"))


HANDLERS = {UnicodeDecodeError: undecodable, Exception: problem_details}
