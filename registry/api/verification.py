"""POST /verify: the full verification report for a posted credential or endorsement."""

from __future__ import annotations

from typing import Any

from litestar.params import JSONBody
from litestar import Request, post

from registry.api.http import READ_PROBLEMS, api_of
from registry.vc.report import VerificationReport


@post("/verify", sync_to_thread=True, status_code=200, responses=READ_PROBLEMS, tags=["verification"],
      summary="Verify an OpenBadgeCredential or EndorsementCredential; `valid` is false if any check failed")
def verify(request: Request, data: JSONBody[dict[str, Any]]) -> VerificationReport:
    return api_of(request.app.state).registry.verify_document(data)
