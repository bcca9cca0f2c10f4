"""The ``negotiation`` projection: rm_approvals and rm_complaints, one row per approval or
complaint, updated by its decision, resolution or overdue mark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec

from ledger.projections.framework import Envelope

INSERT_APPROVAL_SQL = """
    INSERT INTO rm_approvals (tenant_id, approval_id, seq, case_id, kind, status, reasons,
                              request, requested_at, requested_by, requester_agent,
                              requester_role)
    VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7::jsonb, $8, $9, $10, $11)
    ON CONFLICT (tenant_id, approval_id) DO NOTHING
"""
DECIDE_APPROVAL_SQL = """
    UPDATE rm_approvals SET status = $3, decided_at = $4, decided_by = $5, decider_role = $6,
                            decision_reason = $7
    WHERE tenant_id = $1 AND approval_id = $2
"""
INSERT_COMPLAINT_SQL = """
    INSERT INTO rm_complaints (tenant_id, complaint_id, case_id, category, channel, agent,
                               received_at, respond_by, pause_collection)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (tenant_id, complaint_id) DO NOTHING
"""
RESOLVE_COMPLAINT_SQL = """
    UPDATE rm_complaints SET resolved_at = $3, outcome = $4, root_cause = $5, redress = $6
    WHERE tenant_id = $1 AND complaint_id = $2
"""
REDRESS_COMPLAINT_SQL = """
    UPDATE rm_complaints SET redress = coalesce(redress, 0) + $3
    WHERE tenant_id = $1 AND complaint_id = $2
"""
OVERDUE_COMPLAINT_SQL = """
    UPDATE rm_complaints SET overdue = true WHERE tenant_id = $1 AND complaint_id = $2
"""
_json = msgspec.json.Encoder()


def request_document(event: Any) -> str:
    """What was asked, as JSON for the list (the arrangement or the waiver)."""
    asked = event.arrangement if event.arrangement is not None else event.waiver
    return _json.encode(asked).decode()


class NegotiationProjection:
    """rm_approvals and rm_complaints."""

    name = "negotiation"
    tables = ("rm_approvals", "rm_complaints")

    async def apply(self, conn: asyncpg.Connection, batch: Sequence[Envelope]) -> None:
        for envelope in batch:
            handler = _HANDLERS.get(envelope.type)
            if handler is not None and envelope.event is not None:
                await handler(conn, envelope)


async def _approval_requested(conn: asyncpg.Connection, envelope: Envelope) -> None:
    event, row = envelope.event, envelope.row
    await conn.execute(
        INSERT_APPROVAL_SQL, row.tenant_id, event.approval_id, envelope.seq, row.originator_id,
        event.kind, list(event.reasons), request_document(event), event.timestamp,
        event.requested_by, event.requester_agent, event.requester_role)


async def _approval_decided(conn: asyncpg.Connection, envelope: Envelope) -> None:
    event = envelope.event
    await conn.execute(DECIDE_APPROVAL_SQL, envelope.row.tenant_id, event.approval_id,
                       event.decision, event.timestamp, event.decided_by, event.decider_role,
                       event.reason)


async def _complaint_received(conn: asyncpg.Connection, envelope: Envelope) -> None:
    event, row = envelope.event, envelope.row
    await conn.execute(
        INSERT_COMPLAINT_SQL, row.tenant_id, event.complaint_id, row.originator_id,
        event.category, event.channel, event.agent_id, event.timestamp, event.respond_by,
        event.hold_id is not None)


async def _complaint_resolved(conn: asyncpg.Connection, envelope: Envelope) -> None:
    event = envelope.event
    await conn.execute(RESOLVE_COMPLAINT_SQL, envelope.row.tenant_id, event.complaint_id,
                       event.timestamp, event.outcome, event.root_cause, event.redress)


async def _complaint_redressed(conn: asyncpg.Connection, envelope: Envelope) -> None:
    event = envelope.event
    await conn.execute(REDRESS_COMPLAINT_SQL, envelope.row.tenant_id, event.complaint_id,
                       event.redress)


async def _complaint_overdue(conn: asyncpg.Connection, envelope: Envelope) -> None:
    await conn.execute(OVERDUE_COMPLAINT_SQL, envelope.row.tenant_id, envelope.event.complaint_id)


_HANDLERS = {
    "ApprovalRequested": _approval_requested,
    "ApprovalDecided": _approval_decided,
    "ComplaintReceived": _complaint_received,
    "ComplaintResolved": _complaint_resolved,
    "ComplaintOverdue": _complaint_overdue,
    "ComplaintRedressed": _complaint_redressed,
}
