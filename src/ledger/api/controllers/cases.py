"""Cases: placement, NDJSON import, and strongly consistent reads of one case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Body, FromPath

from ledger.api import auth
from ledger.api.commands import context, etag
from ledger.api.docs import responses
from ledger.api.encoded_response import EncodedJson
from ledger.api.idempotency import idempotency_key, idempotency_of, run_idempotent
from ledger.api.import_body import SpooledBody
from ledger.api.placement import MAX_IMPORT_LINES, import_lines, new_case, same_placement
from ledger.api.problems import ProblemError, invalid
from ledger.api.schemas.cases import PLACE_EXAMPLE, CaseView, ImportResult, PlaceCase
from ledger.api.views import CurrentViews, case_view, encode
from ledger.api.audit_access import AsKnownAt, AsOf, load_case_at
from ledger.domain.case import Case
from ledger.services.cases import CaseService, Idempotency, Reply, case_id_for

IMPORT_MAX_BODY = 96 * 1024 * 1024  # 100,000 placements of up to ~1 kB each
NDJSON = "application/x-ndjson"


@dataclass
class _NdjsonImport(Operation):
    """Documents the raw NDJSON body litestar cannot infer from a ``bytes`` read."""

    def __post_init__(self) -> None:
        line = encode(PLACE_EXAMPLE).decode()
        self.request_body = RequestBody(
            required=True,
            description=(f"One placement (the body of POST /v1/cases) per line, ≤ {MAX_IMPORT_LINES:,} "
                         "lines; sent as NDJSON (or as text/plain, which generic clients can send)."),
            content={media: OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, min_length=1),
                examples={"two": Example(value=line + "\n" + line.replace("000123", "000124") + "\n")},
            ) for media in (NDJSON, "text/plain")},
        )


class CaseController(Controller):
    """Place accounts and read single cases (every role may read its own tenant's cases)."""

    path = "/v1/cases"
    tags = ["cases"]

    @post(
        "/", operation_id="placeCase", opt=auth.allow(*auth.PLACEMENT), status_code=201,
        responses=responses(200, 409, 422, ok=CaseView, ok_description="Identical placement: the existing case"),
    )
    async def place(
        self, request: Request, data: Annotated[PlaceCase, Body(examples=[Example(value=PLACE_EXAMPLE)])]
    ) -> CaseView:
        """Place a delinquent account: ``201`` with the case; the same ``external_ref`` and body
        again is ``200`` with the existing case; a different body is ``409 duplicate_external_ref``."""
        service: CaseService = request.app.state.cases
        ctx = context(request)
        now = service.clock()
        case = new_case(ctx.tenant_id, data, now)

        def render_new(new: Case, _: object) -> tuple[int, bytes]:
            return 201, encode(case_view(new, now))

        def render_existing(existing: Case, new: Case) -> tuple[int, bytes]:
            if not same_placement(existing, new):
                raise ProblemError(409, "duplicate_external_ref",
                                   "external_ref already placed with different details")
            return 200, encode(case_view(existing, service.clock()))

        async def action(idempotency: Idempotency | None) -> Reply:
            return await service.place(ctx, case, render_new, render_existing, idempotency=idempotency)

        return await run_idempotent(  # type: ignore[return-value]
            request.app.state.store, ctx.tenant_id, await idempotency_of(request), action
        )

    @post(
        "/import", operation_id="importCases", opt=auth.allow(*auth.PLACEMENT), status_code=200,
        request_max_body_size=IMPORT_MAX_BODY, operation_class=_NdjsonImport,
        responses=responses(413, 422),
    )
    async def import_cases(self, request: Request) -> ImportResult:
        """Place up to 100,000 accounts from an NDJSON body; per-line results, good lines stored.

        The body is streamed to a spool, not held in memory (see ``ledger.api.import_body``)."""
        key = idempotency_key(request)  # a malformed key is refused before the body is read
        body = await SpooledBody.read(request)
        try:
            if body.lines == 0:  # the document says the body is required (minLength 1)
                raise invalid("body", "an import needs at least one line")
            if body.lines > MAX_IMPORT_LINES:
                raise ProblemError(413, "payload_too_large", f"at most {MAX_IMPORT_LINES} lines per import")
            service: CaseService = request.app.state.cases
            ctx = context(request)
            idempotency = None if key is None else Idempotency(
                key, body.request_hash(request.method, request.url.path))

            async def action(_: Idempotency | None) -> Reply:
                return Reply(200, encode(await import_lines(service, ctx, body.iter_lines())))

            return await run_idempotent(  # type: ignore[return-value]
                request.app.state.store, ctx.tenant_id, idempotency, action
            )
        finally:
            body.close()

    @get(
        "/{case_id:uuid}", operation_id="getCase", opt=auth.allow(*auth.EVERYONE),
        responses=responses(404), response_headers=[],
    )
    async def get_case(self, request: Request, case_id: FromPath[UUID], as_of: AsOf = None,
                       as_known_at: AsKnownAt = None) -> Response[CaseView]:
        """The case now, from its snapshot and events (reads your own writes); ``ETag`` = version.

        ``as_of``: the state from the facts that happened by then (business time), aged at
        ``as_of``; ``as_known_at``: from the events recorded by then; both may be combined."""
        if as_of is not None or as_known_at is not None:
            found = await load_case_at(request, case_id, as_of, as_known_at)
            at = as_of or as_known_at
            return Response(case_view(found.case, at), headers={"ETag": etag(found.case.version)})
        return await _read(request, case_id)

    @get(
        "/by-ref/{external_ref:str}", operation_id="getCaseByRef",
        opt=auth.allow(*auth.EVERYONE), responses=responses(404),
    )
    async def get_case_by_ref(self, request: Request, external_ref: FromPath[str]) -> Response[CaseView]:
        """The case placed with ``external_ref`` (same view and ``ETag`` as by id)."""
        return await _read(request, case_id_for(request.user.tenant_id, external_ref))


async def _read(request: Request, case_id: FromPath[UUID]) -> Response[CaseView]:
    service: CaseService = request.app.state.cases
    case = await service.load(request.user.tenant_id, case_id)
    # Encoded here with our encoder and sent as it is (a case read is the hottest route).
    views: CurrentViews = request.app.state.case_views
    return EncodedJson(encode(views.of(case, service.clock())), {"etag": etag(case.version)})

