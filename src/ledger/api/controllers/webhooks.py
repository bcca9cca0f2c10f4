"""``/v1/webhook-endpoints``: bank systems told about their cases' events (Standard Webhooks)."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from ledger.api import auth, paging
from ledger.api.commands import context
from ledger.api.docs import responses
from ledger.api.idempotency import idempotency_of, run_once
from ledger.api.problems import invalid
from ledger.api.views import encode
from ledger.api.schemas.common import Request as Body
from ledger.domain.webhooks.endpoint import WebhookEndpoint
from ledger.webhooks.client import WebhookClient
from ledger.webhooks.endpoints import Actor, EndpointService

Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
EventType = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
ALLOWED = auth.allow(auth.Role.INTEGRATION)


class CreateEndpoint(Body):
    """An endpoint: https URL (plain http only to allow-listed hosts), event types or ["*"]."""

    url: Url
    event_types: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=100)]
    description: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ChangeEndpoint(Body):
    """Any of: ``enabled``, ``event_types``, ``url``; omitted fields keep their value."""

    enabled: bool | None = None
    event_types: Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=100)] | None = None
    url: Url | None = None


class EndpointView(msgspec.Struct, frozen=True):
    endpoint_id: UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    """``requested``, ``gone`` (answered 410) or ``failing`` (3 days of failures)."""
    created_at: datetime
    version: int
    previous_secret_valid_until: datetime | None
    """While a rotated-out secret still signs (24 h after a rotation)."""


class NewEndpoint(msgspec.Struct, frozen=True):
    endpoint_id: UUID
    secret: str | None
    """``whsec_…``, shown this once (null on an idempotent replay)."""
    url: str
    event_types: list[str]
    enabled: bool


class NewSecret(msgspec.Struct, frozen=True):
    endpoint_id: UUID
    secret: str | None
    """``whsec_…``, shown this once (null when a repeated `Idempotency-Key` replays it)."""
    previous_secret_valid_until: datetime | None


class EndpointList(msgspec.Struct, frozen=True):
    items: list[EndpointView]
    next_cursor: str | None = None


class TestResult(msgspec.Struct, frozen=True):
    delivery_id: UUID
    webhook_id: str
    delivered: bool
    status_code: int | None
    error: str | None


class AttemptView(msgspec.Struct, frozen=True):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryView(msgspec.Struct, frozen=True):
    delivery_id: UUID
    webhook_id: str
    event_type: str
    case_id: UUID | None
    status: str
    """``pending`` (not yet acknowledged), ``delivered``, ``failed`` (a test that failed) or
    ``cancelled`` (the endpoint was deleted)."""
    failing: bool
    """The last attempt failed and a retry is scheduled."""
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    attempt_log: list[AttemptView]


class DeliveryList(msgspec.Struct, frozen=True):
    items: list[DeliveryView]
    next_cursor: str | None


class Redelivery(msgspec.Struct, frozen=True):
    delivery_id: UUID
    status: str


def _view(e: WebhookEndpoint) -> EndpointView:
    previous = [until for _, until in e.secrets if until is not None]
    now = datetime.now(UTC)
    live = [u for u in previous if u > now]
    return EndpointView(e.id, e.url, list(e.event_types), e.description, e.enabled,
                        e.disabled_reason, e.created_on, e.version, max(live) if live else None)


def _actor(request: Request) -> Actor:
    ctx = context(request)
    return Actor(ctx.tenant_id, ctx.actor, ctx.correlation_id)


def _service(request: Request) -> EndpointService:
    return request.app.state.webhook_endpoints  # type: ignore[no-any-return]


_CURSOR = struct.Struct(">q16s")


def _encode_cursor(at: datetime, delivery_id: UUID) -> str:
    micros = int(at.timestamp() * 1_000_000)
    return base64.urlsafe_b64encode(_CURSOR.pack(micros, delivery_id.bytes)).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[datetime, UUID]:
    try:
        micros, raw = _CURSOR.unpack(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return datetime.fromtimestamp(micros / 1_000_000, UTC), UUID(bytes=raw)
    except (ValueError, struct.error):
        raise invalid("cursor", "not a cursor this server produced") from None


class WebhookEndpointController(Controller):
    """Register endpoints, rotate their secrets, test them, read and redo their deliveries."""

    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]
    opt = ALLOWED

    @post("/", operation_id="createWebhookEndpoint", status_code=201, responses=responses())
    async def create(self, request: Request, data: JSONBody[CreateEndpoint]) -> Response[NewEndpoint]:
        """Register an endpoint; the signing secret is in this response only. URLs that are not
        https (unless allow-listed) or resolve to private, loopback, link-local or multicast
        addresses are refused with 422 and never called. A repeated `Idempotency-Key` answers
        200 with the same endpoint and `secret: null`."""
        idempotency = await idempotency_of(request)
        endpoint, secret = await _service(request).register(
            _actor(request), data.url, data.event_types, data.description,
            idempotency.key if idempotency else None)
        body = NewEndpoint(endpoint.id, secret, endpoint.url, list(endpoint.event_types),
                           endpoint.enabled)
        if secret is None:
            return Response(body, status_code=200, headers={"Idempotency-Replayed": "true"})
        return Response(body, status_code=201)

    @get("/", operation_id="listWebhookEndpoints", responses=responses())
    async def list_endpoints(self, request: Request, limit: paging.Limit = 50,
                             cursor: paging.Cursor = None) -> EndpointList:
        """The tenant's endpoints, oldest first (never their secrets)."""
        found, next_cursor = paging.page(
            "endpoints", await _service(request).list(request.user.tenant_id),
            lambda e: (e.registered_at, str(e.id)), (datetime, str), limit, cursor)
        return EndpointList([_view(e) for e in found], next_cursor)

    @get("/{endpoint_id:uuid}", operation_id="getWebhookEndpoint", responses=responses(404))
    async def read(self, request: Request, endpoint_id: FromPath[UUID]) -> EndpointView:
        """One endpoint."""
        return _view(await _service(request).get(request.user.tenant_id, endpoint_id))

    @patch("/{endpoint_id:uuid}", operation_id="changeWebhookEndpoint", responses=responses(404))
    async def change(self, request: Request, endpoint_id: FromPath[UUID],
                     data: JSONBody[ChangeEndpoint]) -> EndpointView:
        """Enable or disable, change the event types or the url (checked like on creation).
        Enabling resumes the deliveries that were waiting, in order."""
        return _view(await _service(request).change(
            _actor(request), endpoint_id, url=data.url, event_types=data.event_types,
            enabled=data.enabled))

    @delete("/{endpoint_id:uuid}", operation_id="deleteWebhookEndpoint", status_code=204,
            responses=responses(404))
    async def remove(self, request: Request, endpoint_id: FromPath[UUID]) -> None:
        """Delete the endpoint; its pending deliveries are cancelled."""
        await _service(request).delete(_actor(request), endpoint_id)

    @post("/{endpoint_id:uuid}/secret-rotation", operation_id="rotateWebhookSecret",
          status_code=201, responses=responses(404))
    async def rotate(self, request: Request, endpoint_id: FromPath[UUID]) -> NewSecret:
        """A new secret (shown once); the previous one keeps signing for 24 h, so every
        message carries both signatures until then. A repeated `Idempotency-Key` rotates
        nothing: it replays the answer with `secret: null`."""
        shown_once: list[bytes] = []

        async def action() -> tuple[int, bytes]:
            endpoint, secret = await _service(request).rotate(_actor(request), endpoint_id)
            until = _view(endpoint).previous_secret_valid_until
            shown_once.append(encode(NewSecret(endpoint.id, None, until)))
            return 201, encode(NewSecret(endpoint.id, secret, until))

        return await run_once(request, request.app.state.store,  # type: ignore[return-value]
                              request.user.tenant_id, action, kept=lambda _: shown_once[0])

    @post("/{endpoint_id:uuid}/test", operation_id="testWebhookEndpoint", status_code=200,
          responses=responses(404))
    async def test(self, request: Request, endpoint_id: FromPath[UUID]) -> TestResult:
        """Send a signed `webhook.test` message now and report the answer (not retried; a
        repeated `Idempotency-Key` replays the report without sending again)."""

        async def action() -> tuple[int, bytes]:
            client = WebhookClient(_service(request).allow_hosts)
            try:
                delivery_id, webhook_id, outcome = await _service(request).test(
                    _actor(request), endpoint_id, client)
            finally:
                await client.close()
            return 200, encode(TestResult(delivery_id, webhook_id, outcome.delivered,
                                          outcome.status, outcome.error))

        return await run_once(request, request.app.state.store,  # type: ignore[return-value]
                              request.user.tenant_id, action)

    @get("/{endpoint_id:uuid}/deliveries", operation_id="listWebhookDeliveries",
         responses=responses(404))
    async def deliveries(
        self, request: Request, endpoint_id: FromPath[UUID],
        status: Annotated[Literal["pending", "delivered", "failed", "cancelled"] | None,
                          Parameter(description="`failed`: the last attempt failed")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> DeliveryList:
        """Deliveries to this endpoint, newest first, each with its attempts."""
        after = _decode_cursor(cursor) if cursor else None
        rows, attempts = await _service(request).deliveries(
            request.user.tenant_id, endpoint_id, status, limit, after)
        items = [DeliveryView(
            r[0], r[1], r[2], None if r[2] == "webhook.test" else r[3], r[4], bool(r[12]),
            r[5], r[6], r[7], r[8], r[9], r[10] if r[4] in ("pending", "failed") else None, r[11],
            [AttemptView(a[1], a[2], a[3], a[4], a[5]) for a in attempts.get(r[0], [])])
            for r in rows[:limit]]
        next_cursor = _encode_cursor(rows[limit - 1][6], rows[limit - 1][0]) \
            if len(rows) > limit else None
        return DeliveryList(items, next_cursor)

    @post("/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/redelivery",
          operation_id="redeliverWebhook", status_code=202, responses=responses(404))
    async def redeliver(self, request: Request, endpoint_id: FromPath[UUID],
                        delivery_id: FromPath[UUID]) -> Redelivery:
        """Send this delivery again (same `webhook-id`), after the ones queued before it
        (once per `Idempotency-Key`)."""

        async def action() -> tuple[int, bytes]:
            await _service(request).redeliver(_actor(request), endpoint_id, delivery_id)
            deliverer = request.app.state.get("deliverer")
            if deliverer is not None:
                deliverer.wake()
            return 202, encode(Redelivery(delivery_id, "pending"))

        return await run_once(request, request.app.state.store,  # type: ignore[return-value]
                              request.user.tenant_id, action)
