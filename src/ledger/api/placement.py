"""Placement: request → new ``Case``, duplicate detection, and NDJSON import."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from itertools import islice

import msgspec

from ledger.api.schemas.cases import ImportRejection, ImportResult, PlaceCase
from ledger.api.schemas import times
from ledger.domain.case import Case
from ledger.domain.errors import DomainError
from ledger.domain.values import Debtor
from ledger.services.cases import CaseService, Context, case_id_for

MAX_IMPORT_LINES = 100_000
CHUNK = 1_000
_line_decoder = msgspec.json.Decoder(PlaceCase, dec_hook=times.dec_hook)


def new_case(tenant_id: str, body: PlaceCase, now: datetime) -> Case:
    """Validate ``body`` in the domain and build the case (not stored yet)."""
    debtor = body.debtor
    return Case.place(
        case_id=case_id_for(tenant_id, body.external_ref), tenant_id=tenant_id,
        external_ref=body.external_ref, portfolio=body.portfolio, product=body.product,
        currency=body.currency, principal=body.principal, interest=body.interest,
        fees=body.fees, past_due_amount=body.past_due_amount,
        days_past_due=body.days_past_due, placed_at=body.placed_at,
        debtor=Debtor(
            name=debtor.name, phones=tuple(debtor.phones), emails=tuple(debtor.emails),
            address=debtor.address, timezone=debtor.timezone, jurisdiction=debtor.jurisdiction,
        ),
        now=now,
    )


def _placement(case: Case) -> tuple[object, ...]:
    return (
        case.external_ref, case.portfolio, case.product, case.currency, case.placed_principal,
        case.placed_interest, case.placed_fees, case.past_due_amount, case.placed_days_past_due,
        case.placed_at, case.timezone, case.jurisdiction,
    )


def same_placement(existing: Case, new: Case) -> bool:
    """Is ``new`` the placement ``existing`` was created from? Never for an erased case: its
    debtor can no longer be compared, and answering by a guess either way would confirm or
    deny the erased data (``duplicate_external_ref`` whatever the body)."""
    if _placement(existing) != _placement(new) or existing.personal_data_erased:
        return False
    return existing.debtor == new.debtor


UTF8_BOM = b"\xef\xbb\xbf"


async def import_lines(service: CaseService, ctx: Context, lines: Iterable[bytes]) -> ImportResult:
    """Place one case per NDJSON line; good lines are stored whatever the others do.

    ``lines`` is consumed one chunk at a time, so memory stays flat however long the body."""
    accepted = duplicates = 0
    rejected: list[ImportRejection] = []
    source = iter(lines)
    start = 0
    while chunk := list(islice(source, CHUNK)):
        now = service.clock()
        batch: dict[object, tuple[int, Case]] = {}
        later: list[tuple[int, Case]] = []  # same ref again in this file
        for number, raw in enumerate(chunk, start + 1):
            if number == 1 and raw.startswith(UTF8_BOM):  # spreadsheet exports start so
                raw = raw[len(UTF8_BOM):]
            if not raw.strip():  # a blank line places nothing and is no error
                continue
            try:
                case = new_case(ctx.tenant_id, _line_decoder.decode(raw), now)
            except msgspec.ValidationError as error:
                rejected.append(ImportRejection(number, "invalid_request", str(error)))
                continue
            except msgspec.DecodeError:
                rejected.append(ImportRejection(number, "invalid_request", "line is not valid JSON"))
                continue
            except DomainError as error:
                rejected.append(ImportRejection(number, error.code, error.detail))
                continue
            if case.id in batch:
                later.append((number, case))
            else:
                batch[case.id] = (number, case)
        stored, existing = await service.place_many(ctx, [case for _, case in batch.values()])
        accepted += len(stored)
        known = {case.id: case for case in stored} | existing
        for number, case in [v for v in batch.values() if v[1].id in existing] + later:
            if same_placement(known[case.id], case):
                duplicates += 1
            else:
                rejected.append(ImportRejection(
                    number, "duplicate_external_ref",
                    "external_ref already placed with different details",
                ))
        start += len(chunk)
        await asyncio.sleep(0)  # let other requests in between chunks
    rejected.sort(key=lambda r: r.line)
    return ImportResult(accepted, duplicates, rejected)
