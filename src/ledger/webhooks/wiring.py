"""Wiring of webhooks into a process: the endpoint service (API) and the deliverer."""

from __future__ import annotations

from typing import Any

import asyncpg

from ledger.config import Settings
from ledger.eventstore import EventStore, Repository
from ledger.webhooks.deliverer import Deliverer
from ledger.webhooks.endpoints import EndpointService
from ledger.webhooks.secrets import SecretVault


def endpoint_repository(store: EventStore) -> Repository:
    """The repository of ``WebhookEndpoint`` streams (no personal data: no debtor cipher)."""
    return Repository(store, snapshot_interval=None)


def build_deliverer(settings: Settings, pool: asyncpg.Pool, store: EventStore,
                    master_key: bytes, vault: SecretVault | None = None) -> Deliverer:
    return Deliverer(pool, store, endpoint_repository(store),
                     vault or SecretVault(master_key),
                     allow_hosts=settings.webhook_allow_hosts, shards=settings.webhook_shards,
                     backoff_scale=settings.webhook_backoff_scale,
                     retention_days=settings.webhook_retention_days)


def start_webhooks(app: Any, settings: Settings, pool: asyncpg.Pool, store: EventStore,
                   master_key: bytes) -> Deliverer:
    """Put the endpoint service and the (not yet started) deliverer on ``app.state``."""
    vault = SecretVault(master_key)
    service = EndpointService(pool, endpoint_repository(store), vault,
                              settings.webhook_allow_hosts)
    deliverer = build_deliverer(settings, pool, store, master_key, vault)
    app.state.update(webhook_endpoints=service, deliverer=deliverer)
    return deliverer
