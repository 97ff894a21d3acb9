"""Every error as RFC 9457 problem details (application/problem+json): a status, a title, a
one-line `detail` and, where known, the offending `field`. Refused input is a 4xx, never a 500."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from registry.api.idempotency import IdempotencyConflict
from registry.application import ConflictError
from registry.domain import AlreadyExists, DomainError, InvalidTransition, NotAuthorised, NotFound

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


def problem(request: Request, status: int, detail: str, *, field: str | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body = Problem(type="about:blank", title=HTTPStatus(status).phrase, status=status,
                   detail=detail, instance=request.url.path, field=field or None)
    return Response(content=msgspec.json.encode(body), status_code=status, media_type=PROBLEM,
                    headers=headers)


class BadParameter(ValueError):
    """A request parameter the framework could not check (an opaque cursor, a missing owner): 400."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field


def bad_parameter(request: Request, exc: BadParameter) -> Response:
    return problem(request, 400, str(exc), field=exc.field)


def _status_of_domain_error(exc: DomainError) -> int:
    if isinstance(exc, IdempotencyConflict):
        return exc.status
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAuthorised):
        return 403
    if isinstance(exc, (AlreadyExists, InvalidTransition)):
        return 409
    return 422


def domain_error(request: Request, exc: DomainError) -> Response:
    return problem(request, _status_of_domain_error(exc), str(exc))


def conflict(request: Request, exc: ConflictError) -> Response:
    return problem(request, 409, str(exc))


def invalid_value(request: Request, exc: ValueError) -> Response:
    """DocumentError and other refused values from the use cases."""
    return problem(request, 422, str(exc))


def undecodable(request: Request, exc: UnicodeDecodeError) -> Response:
    return problem(request, 400, f"the request is not UTF-8 text: {exc.reason} at byte {exc.start}")


def validation(request: Request, exc: ValidationException) -> Response:
    """Litestar's refusal of a body or parameter: malformed JSON is 400; a well-formed body with a
    wrong or missing field is 422; a bad query or path parameter is 400. The field is named."""
    errors = exc.extra if isinstance(exc.extra, list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    cause = str(exc.__cause__ or "")
    if first.get("source") == "body":
        match = _AT.search(cause)
        field = match.group(1) if match and match.group(1) else _missing_field(first.get("message", ""))
        return problem(request, 422, f"{first.get('message', exc.detail)}{f' at {field}' if field else ''}",
                       field=field or "body")
    if first:
        key = str(first.get("key", ""))
        return problem(request, 400, f"{key}: {first.get('message', exc.detail)}", field=key or None)
    named = re.search(r"parameter '([^']+)'", str(exc.detail))
    return problem(request, 400, str(exc.detail), field=named.group(1) if named else None)


def _missing_field(message: str) -> str:
    match = re.search(r"(?:field|unknown field) `([^`]+)`", message)
    return match.group(1) if match else ""


def http_error(request: Request, exc: HTTPException) -> Response:
    detail = str(exc.detail)
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, SerializationException):
        detail = f"the body is not valid JSON: {cause}"
    return problem(request, exc.status_code, detail, headers=dict(exc.headers or {}))


def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(request, 500, "the registry failed to answer; the error was logged")


HANDLERS = {
    DomainError: domain_error,
    ConflictError: conflict,
    ValueError: invalid_value,
    BadParameter: bad_parameter,
    UnicodeDecodeError: undecodable,
    ValidationException: validation,
    HTTPException: http_error,
    Exception: unexpected,
}
