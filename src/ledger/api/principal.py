"""Who is calling: the authenticated key (the principal) and the agent a request acts as.

Every authenticated request carries its :class:`~ledger.services.keys.ApiKey` as
``request.user``; ``principal(request).agent_id`` is the agent a bound agent key acts as
(None for every other key). Routes that record an agent's fact or show an agent's own work
ask :func:`agent_for` or :func:`agent_scope` instead of reading ``agent_id`` from the body or
query, so that a bound key can never act as anyone else (API.md v1.1, "Keys bound to people").
"""

from __future__ import annotations

from litestar import Request

from ledger.api.problems import invalid
from ledger.services.keys import ApiKey, Role, acting_agent


def principal(request: Request) -> ApiKey:
    """The key that authenticated ``request``."""
    key: ApiKey = request.user
    return key


def agent_for(request: Request, named: str | None, field: str = "agent_id") -> str:
    """The agent a fact recorded by ``request`` is attributed to.

    A bound agent key: its own agent (``named`` may be omitted; naming another agent is
    ``403 agent_mismatch``). Any other key must name one (``422`` otherwise).
    """
    agent = acting_agent(principal(request), named)
    if agent is None:
        raise invalid(field, "required: this key is not bound to an agent")
    return agent


def agent_scope(request: Request, named: str | None, field: str = "agent_id") -> str | None:
    """The agent whose own cases a list (work queue, dialer list) shows.

    A bound agent key sees its own agent's (naming another is ``403 agent_mismatch``); an
    unbound agent key must name one (``422``); supervisors and admins get what they name,
    None meaning "not limited to one agent".
    """
    key = principal(request)
    agent = acting_agent(key, named)
    if agent is None and key.role == Role.AGENT:
        raise invalid(field, "agents must name the agent whose cases to show")
    return agent
