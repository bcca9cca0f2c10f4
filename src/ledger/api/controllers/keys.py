"""API key management for a tenant's admin (the CLI manages keys of any tenant)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar.params import FromPath, JSONBody
from litestar import Controller, Request, get, post

from ledger.api import auth, paging
from ledger.api.auth import KeyCache
from ledger.api.docs import responses
from ledger.api.idempotency import run_once
from ledger.api.problems import ProblemError
from ledger.api.schemas.common import AgentId, Label, Request as Body
from ledger.api.views import encode
from ledger.services.keys import ApiKey, Role, create_key, list_keys, revoke_key


class CreateKey(Body):
    """A new key for the caller's tenant."""

    role: Role
    label: Label | None = None
    rate_limit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | None = None
    """Requests per second; the server default when omitted."""
    agent_id: AgentId | None = None
    """Agent keys only: bind the key to this agent; it then acts as that agent alone."""


class KeyView(msgspec.Struct, frozen=True):
    """A key without its secret."""

    key_id: str
    tenant_id: str
    role: str
    label: str | None
    rate_limit: int | None
    created_at: datetime
    revoked_at: datetime | None
    agent_id: str | None = None


class NewKey(msgspec.Struct, frozen=True):
    """The key itself is shown this once; only a keyed hash of it is stored."""

    key: str
    key_id: str
    tenant_id: str
    role: str
    agent_id: str | None = None


class KeyList(msgspec.Struct, frozen=True):
    items: list[KeyView]
    next_cursor: str | None = None


def _view(key: ApiKey) -> KeyView:
    return KeyView(key.key_id, key.tenant_id, str(key.role), key.label, key.rate_limit,
                   key.created_at, key.revoked_at, key.agent_id)


class KeyController(Controller):
    """Create, list and revoke the tenant's API keys (admin only)."""

    path = "/v1/keys"
    tags = ["keys"]
    opt = auth.allow(*auth.KEY_MANAGEMENT)

    @post("/", operation_id="createKey", status_code=201, responses=responses())
    async def create(self, request: Request, data: JSONBody[CreateKey]) -> NewKey:
        """Create a key for this tenant; the response is the only time the key is shown.
        ``agent_id`` (agent keys only, else ``422``) binds the key to that agent."""
        state = request.app.state
        cache: KeyCache = state.key_cache
        key, secret = await create_key(
            state.pool, cache.secret, tenant_id=request.user.tenant_id, role=data.role,
            label=data.label, rate_limit=data.rate_limit, agent_id=data.agent_id,
        )
        return NewKey(secret, key.key_id, key.tenant_id, str(key.role), key.agent_id)

    @get("/", operation_id="listKeys", responses=responses())
    async def list(self, request: Request, limit: paging.Limit = 50,
                   cursor: paging.Cursor = None) -> KeyList:
        """The tenant's keys, oldest first, revoked ones included (never their secrets)."""
        keys, next_cursor = paging.page(
            "keys", await list_keys(request.app.state.pool, request.user.tenant_id),
            lambda k: (k.created_at, k.key_id), (datetime, str), limit, cursor)
        return KeyList([_view(k) for k in keys], next_cursor)

    @post("/{key_id:str}/revocation", operation_id="revokeKey", status_code=200,
          responses=responses(404, 409))
    async def revoke(self, request: Request, key_id: FromPath[str]) -> KeyView:
        """Revoke a key of this tenant at once (idempotent). The key making the request cannot
        revoke itself (``409 own_key``): an admin would lock themselves out; use another admin
        key or ``ledger keys revoke``."""
        state = request.app.state
        if key_id == request.user.key_id:
            raise ProblemError(409, "own_key", "a key cannot revoke itself; use another admin "
                               "key or `ledger keys revoke`")

        async def action() -> tuple[int, bytes]:
            key = await revoke_key(state.pool, key_id, request.user.tenant_id)
            if key is None:
                raise ProblemError(404, "not_found", "no such key in this tenant")
            cache: KeyCache = state.key_cache
            cache.forget(key_id)
            return 200, encode(_view(key))

        return await run_once(request, state.store, request.user.tenant_id,  # type: ignore[return-value]
                              action)
