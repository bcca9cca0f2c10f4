"""Endpoint management: the application service behind ``/v1/webhook-endpoints``.

Secrets are generated here, shown once to the caller, and stored only wrapped (``secrets``).
The secret row is written before the event that names it: a crash in between leaves an
unused wrapped secret, never an endpoint without its secret. URLs pass the SSRF guard (the
host is resolved and every address checked) before anything is recorded, and nothing is ever
sent to a refused URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from eventsourcing.domain import Aggregate

from ledger.domain.case import Case
from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.webhooks.endpoint import WebhookEndpoint
from ledger.domain.webhooks.rules import UrlRefused
from ledger.eventstore import AggregateNotFound, ConcurrencyConflict, Repository
from ledger.webhooks import payload
from ledger.webhooks import store as sql
from ledger.webhooks.client import Outcome, WebhookClient
from ledger.webhooks.guard import check_url
from ledger.webhooks.secrets import SecretVault
from ledger.webhooks.signing import new_secret, signature_headers

KNOWN_TYPES = frozenset(name for name, value in vars(Case).items()
                        if isinstance(value, type) and issubclass(value, Aggregate.Event))
ID_NAMESPACE = UUID("0b7f6c1e-3c1d-5e8a-a0f4-6e2f9b1c7d35")


class EndpointNotFound(DomainError):
    code = "not_found"
    http_status = 404


class IdempotencyKeyReused(DomainError):
    """A repeated ``Idempotency-Key`` naming another endpoint than the one it registered."""

    code = "idempotency_key_reused"
    http_status = 422


class Actor(msgspec.Struct, frozen=True):
    tenant_id: str
    actor: str
    correlation_id: UUID | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class EndpointService:
    """Register, change, rotate, delete, test, list and redeliver."""

    def __init__(self, pool: asyncpg.Pool, repository: Repository, vault: SecretVault,
                 allow_hosts: frozenset[str]) -> None:
        self.pool, self.repository, self.vault = pool, repository, vault
        self.allow_hosts = allow_hosts

    async def _guard(self, url: str) -> None:
        try:
            await check_url(url, self.allow_hosts)
        except UrlRefused as refused:
            raise InvalidRequest("url", str(refused)) from None

    async def get(self, tenant_id: str, endpoint_id: UUID) -> WebhookEndpoint:
        try:
            endpoint = await self.repository.load(endpoint_id, tenant_id=tenant_id)
        except AggregateNotFound:
            raise EndpointNotFound("no such webhook endpoint in this tenant") from None
        if not isinstance(endpoint, WebhookEndpoint) or endpoint.deleted:
            raise EndpointNotFound("no such webhook endpoint in this tenant")
        return endpoint

    async def list(self, tenant_id: str) -> list[WebhookEndpoint]:
        ids = [r[0] for r in await self.pool.fetch(sql.TENANT_ENDPOINTS_SQL, tenant_id)]
        loaded = await self.repository.load_many(ids, tenant_id=tenant_id) if ids else {}
        return [loaded[i] for i in ids if i in loaded and not loaded[i].deleted]

    async def register(self, who: Actor, url: str, event_types: Sequence[str],
                       description: str | None, idempotency_key: str | None
                       ) -> tuple[WebhookEndpoint, str | None]:
        """The new endpoint and its secret; a repeated idempotency key gives the endpoint
        registered the first time and no secret (it is shown once)."""
        endpoint_id = (uuid.uuid5(ID_NAMESPACE, f"{who.tenant_id}\x00{idempotency_key}")
                       if idempotency_key else uuid.uuid4())
        secret_id = uuid.uuid4()
        endpoint = WebhookEndpoint.register(  # validated and normalised before any replay
            endpoint_id=endpoint_id, tenant_id=who.tenant_id, url=url, event_types=event_types,
            description=description, secret_id=secret_id, known_types=KNOWN_TYPES,
            allow_hosts=self.allow_hosts, now=_now())
        if idempotency_key:
            try:
                return self._replayed(await self.get(who.tenant_id, endpoint_id), endpoint), None
            except EndpointNotFound:
                pass
        await self._guard(url)
        secret = new_secret()
        await self.vault.put(self.pool, secret_id, endpoint_id, who.tenant_id, secret)
        try:
            await self._save(endpoint, who)
        except ConcurrencyConflict:  # the same idempotency key, concurrently
            return self._replayed(await self.get(who.tenant_id, endpoint_id), endpoint), None
        return endpoint, secret

    @staticmethod
    def _replayed(existing: WebhookEndpoint, asked: WebhookEndpoint) -> WebhookEndpoint:
        """The endpoint a repeated key registered, if the repeat asks for the same one (as it
        stands now: compared with its current url, types and description)."""
        if (existing.url, tuple(existing.event_types), existing.description) != (
                asked.url, tuple(asked.event_types), asked.description):
            raise IdempotencyKeyReused("this Idempotency-Key registered another endpoint")
        return existing

    async def change(self, who: Actor, endpoint_id: UUID, *, url: str | None,
                     event_types: Sequence[str] | None, enabled: bool | None) -> WebhookEndpoint:
        endpoint = await self.get(who.tenant_id, endpoint_id)
        endpoint.change(now=_now(), url=url, event_types=event_types, enabled=enabled,
                        known_types=KNOWN_TYPES, allow_hosts=self.allow_hosts)
        if url is not None:
            await self._guard(url)
        await self._save(endpoint, who)
        return endpoint

    async def rotate(self, who: Actor, endpoint_id: UUID) -> tuple[WebhookEndpoint, str]:
        endpoint = await self.get(who.tenant_id, endpoint_id)
        secret_id, secret = uuid.uuid4(), new_secret()
        await self.vault.put(self.pool, secret_id, endpoint_id, who.tenant_id, secret)
        endpoint.rotate_secret(secret_id, _now())
        await self._save(endpoint, who)
        return endpoint, secret

    async def delete(self, who: Actor, endpoint_id: UUID) -> None:
        endpoint = await self.get(who.tenant_id, endpoint_id)
        endpoint.delete(_now())
        await self._save(endpoint, who)
        await self.pool.execute(sql.CANCEL_SQL, endpoint_id)

    async def _save(self, endpoint: WebhookEndpoint, who: Actor) -> None:
        await self.repository.save(endpoint, tenant_id=who.tenant_id, actor=who.actor,
                                   correlation_id=who.correlation_id)

    async def test(self, who: Actor, endpoint_id: UUID,
                   client: WebhookClient) -> tuple[UUID, str, Outcome]:
        """Send a signed ``webhook.test`` message now; the attempt is in the delivery log."""
        endpoint = await self.get(who.tenant_id, endpoint_id)
        await self._guard(endpoint.url)
        delivery = uuid.uuid4()
        wid = payload.webhook_id(delivery)
        now = _now()
        body = msgspec.json.encode({
            "id": str(delivery), "type": "webhook.test", "case_id": None, "external_ref": None,
            "position": None, "cursor": None, "occurred_at": now.isoformat(),
            "recorded_at": now.isoformat(), "data": {"endpoint_id": str(endpoint_id)}})
        secrets = await self.vault.get(self.pool, endpoint.signing_secret_ids(now))
        outcome = await client.post(endpoint.url, body, signature_headers(
            wid, body, list(secrets.values()), at=now))
        await self.pool.execute(
            sql.INSERT_TEST_SQL, delivery, wid, endpoint_id, who.tenant_id,
            -int(now.timestamp() * 1_000_000), body,
            "delivered" if outcome.delivered else "failed", outcome.status, outcome.error)
        return delivery, wid, outcome

    async def deliveries(self, tenant_id: str, endpoint_id: UUID, status: str | None,
                         limit: int, after: tuple[datetime, UUID] | None
                         ) -> tuple[list[Any], dict[UUID, list[Any]]]:
        await self.get(tenant_id, endpoint_id)
        rows = await self.pool.fetch(sql.LIST_DELIVERIES_SQL, endpoint_id, tenant_id, status,
                                     after[0] if after else None, after[1] if after else None,
                                     limit + 1)
        attempts: dict[UUID, list[Any]] = {}
        for r in await self.pool.fetch(sql.ATTEMPTS_SQL, [r[0] for r in rows[:limit]]):
            attempts.setdefault(r[0], []).append(r)
        return rows, attempts

    async def redeliver(self, who: Actor, endpoint_id: UUID, delivery_id: UUID) -> None:
        endpoint = await self.get(who.tenant_id, endpoint_id)
        del endpoint
        found = await self.pool.fetchval(sql.REDELIVER_SQL, delivery_id, endpoint_id,
                                         who.tenant_id)
        if found is None:
            raise EndpointNotFound("no such delivery of this endpoint (test messages are not "
                                   "redelivered; send another test)")
