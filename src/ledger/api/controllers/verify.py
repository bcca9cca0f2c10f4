"""``GET /v1/cases/{id}/verify``: recompute the case's hash chain."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get
from litestar.params import FromPath

from ledger.api import auth
from ledger.api.docs import responses
from ledger.api.schemas.audit import VerifyReport
from ledger.api.audit_access import VERIFY
from ledger.audit.verify import verify_case
from ledger.services.cases import CaseNotFound


class VerifyController(Controller):
    """Tamper evidence for one case (auditor, admin)."""

    path = "/v1/cases/{case_id:uuid}/verify"
    tags = ["audit"]

    @get("/", operation_id="verifyCase", opt=auth.allow(*VERIFY), responses=responses(404))
    async def verify(self, request: Request, case_id: FromPath[UUID]) -> VerifyReport:
        """Detects an edited, deleted, inserted or reordered event and names the first bad
        version; against the latest signed checkpoint covering the case also events deleted
        from its end, the whole stream deleted (still ``200`` with ``ok: false``) and a stream
        rewritten with recomputed hashes (README, "Tamper evidence")."""
        result = await verify_case(request.app.state.store, request.user.tenant_id, case_id)
        if result is None:
            raise CaseNotFound(str(case_id))
        return VerifyReport(result.ok, result.events_checked, result.first_bad_version,
                            result.checkpoint_id, result.reason)
