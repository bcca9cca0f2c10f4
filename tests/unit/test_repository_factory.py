"""Every writer of cases gets its repository from one factory that always seals personal data.

A direct ``Repository(...)`` anywhere in the shipped code (or the benchmarks, which feed the
same database) would store a debtor's name, phones and emails in clear, out of erasure's
reach. The scan finds such a construction; the runtime check stops one that slipped past.
"""

from __future__ import annotations

import ast
import asyncio
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from ledger.domain.case import Case
from ledger.domain.values import Debtor
from ledger.eventstore import Repository, UnsealedWrite
from ledger.privacy import DataKeys
from ledger.services.repositories import case_repository

ROOT = Path(__file__).resolve().parents[2]
FACTORY = ROOT / "src/ledger/services/repositories.py"
# Repositories of aggregates that hold no personal data, each with the reason.
NOT_CASES = {
    ROOT / "bench/reads.py": "stores bench.model.BenchCase, which has no debtor",
    ROOT / "src/ledger/webhooks/wiring.py": "stores WebhookEndpoint streams, which have no debtor",
}


def _constructions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "Repository":
                lines.append(node.lineno)
    return lines


def test_no_code_outside_the_factory_constructs_a_repository():
    found = []
    for folder in (ROOT / "src", ROOT / "bench"):
        for path in sorted(folder.rglob("*.py")):
            if path == FACTORY or path in NOT_CASES:
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in _constructions(path)]
    assert found == [], f"build case repositories with case_repository(): {found}"


def test_the_scan_sees_a_direct_construction():
    # The scan must not be vacuous: the factory itself constructs one.
    assert _constructions(FACTORY)


def _case() -> Case:
    return Case.place(
        case_id=uuid4(), tenant_id="t", external_ref="R-1", portfolio="p", product="credit_card",
        currency="USD", principal=1000, interest=0, fees=0, past_due_amount=100,
        days_past_due=40, placed_at=datetime(2026, 1, 1, tzinfo=UTC),
        debtor=Debtor(name="Ana Li", phones=("+15551234567",), timezone="UTC",
                      jurisdiction="US-TX"),
        now=datetime(2026, 1, 2, tzinfo=UTC))


def test_a_repository_without_a_cipher_refuses_to_save_a_case_before_any_io():
    repository = Repository(None)  # type: ignore[arg-type]  # refused before the store is used
    with pytest.raises(UnsealedWrite, match="case_repository"):
        asyncio.run(repository.save(_case(), tenant_id="t"))


def test_the_factory_always_wires_the_cipher():
    keys = DataKeys(lambda *_: None, bytes(32))  # type: ignore[arg-type,return-value]
    repository = case_repository(None, keys)  # type: ignore[arg-type]
    assert repository.cipher is not None
    assert "ledger.domain.case:Case.Placed" in repository.cipher.topics
