"""The verify page: a form (paste the JSON or upload the file; plain HTML, no JavaScript) and the
verification report the registry's own use case gives, shown as a person reads it."""

from __future__ import annotations

import anyio.to_thread
from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Template

from registry.api.pages.i18n import Translator
from registry.api.pages.rendering import PREFIX, language_of, page
from registry.commands import MAX_DOCUMENT_BYTES
from registry.projections import Queries
from registry.vc import baking, json_text, vc_jwt

# A baked image is larger than the credential it carries: an image of up to 512 KiB and the document.
MAX_UPLOAD_BYTES = 512 * 1024 + MAX_DOCUMENT_BYTES


@get(f"{PREFIX}/verify", sync_to_thread=False, include_in_schema=False)
def verify_form(request: Request) -> Template:
    return page(request, "verify.html", current="verify", report=None, problem=None, pasted="", recipient="")


@post(f"{PREFIX}/verify", status_code=200, include_in_schema=False, request_max_body_size=MAX_UPLOAD_BYTES + 64 * 1024)
async def verify_submitted(request: Request, queries: NamedDependency[Queries]) -> Template:
    translate = Translator(language_of(request))
    form = await request.form()
    pasted = form.get("document")
    pasted = pasted if isinstance(pasted, str) else ""
    upload = form.get("file")
    recipient = form.get("recipient")
    recipient = recipient.strip()[:320] if isinstance(recipient, str) and recipient.strip() else None
    text, problem = pasted, None
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            problem = translate("verify_too_large", limit=MAX_UPLOAD_BYTES // 1024)
        elif baking.kind_of(raw) is not None:  # a baked badge (OB 3.0 5.3): the credential inside it
            try:
                text = baking.unbake(raw).text
            except baking.BakingError as exc:
                problem = translate("verify_baked_problem", error=str(exc))
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                problem = translate("verify_not_utf8")
    document = None
    if problem is None:
        document, problem = parse(text, translate)
    if problem is not None:
        return page(request, "verify.html", status=400, current="verify", report=None,
                    problem=problem, pasted=pasted, recipient=recipient)
    report = await anyio.to_thread.run_sync(lambda: queries.verify(document, recipient=recipient))
    issuer = await anyio.to_thread.run_sync(issuer_slug, queries, report.issuer_id)
    return page(request, "verify.html", current="verify", report=report, problem=None,
                pasted=pasted, issuer_slug=issuer, recipient=recipient)


def parse(text: str, translate: Translator) -> tuple[object, str | None]:
    if not text.strip():
        return None, translate("verify_empty")
    if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        return None, translate("verify_too_large", limit=MAX_DOCUMENT_BYTES // 1024)
    if vc_jwt.is_compact(text):  # a VC-JWT, as OB 3.0's JSON Web Token Proof Format writes it
        return text.strip(), None
    try:
        return json_text.loads(text), None
    except json_text.JsonTextError as exc:
        return None, translate("verify_not_json", error=str(exc))


def issuer_slug(queries: Queries, did: str | None) -> str | None:
    """The organisation a report's issuer DID belongs to, for a link to its page."""
    if not isinstance(did, str) or not did.startswith("did:"):
        return None
    found = queries.issuer_of_did(did)
    return None if found is None else found.slug
