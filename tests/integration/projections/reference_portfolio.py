"""The reference portfolio: 24 cases over several months, written through the domain.

Portfolio ``cards-a`` (a0–a11): placed 2026-01-10, 100,000 principal + 10,000 interest,
past due 20,000 at 45 days. Portfolio ``cards-b`` (b0–b11): placed 2026-02-15, 50,000
principal + 5,000 fees, past due 10,000 at 100 days. All debtors in UTC, US rules.

- assigned: a0–a5 ann, a6–a11 bob (Jan 11); b0–b5 bob (Feb 16); b6–b11 nobody.
- contacts: even cases a phone right-party call at placement + 5 days 15:00; odd cases a
  phone no-answer then, and a delivered email a day later; a11 also a 23:00 call (breach).
- payments: a0–a7 10,000 on Jan 20 (a1's reversed Jan 25); a0 5,000 on Mar 5;
  b0–b3 5,000 on Feb 25; b6 20,000 on Mar 1.
- a2: 5,000 waived on Feb 1.
- promises: a3 10,000 due Jan 31 (kept by its payment); a9 20,000 due Jan 31 (broken by the
  scheduler); a10 15,000 due Feb 10 (broken, then a late payment of 15,000 received Feb 5
  arrives and turns it kept); b8 5,000 due Sep 30 (pending).
- late backdated facts on b6 after its payment: assigned to cy as of Feb 20, and an sms
  right-party contact on Feb 27 (so its payment moves to agent cy, channel sms).

``write_until_scheduler`` writes everything up to the scheduler's pass; ``write_late_facts``
the rest.
"""

from __future__ import annotations

from datetime import date, timedelta

from ledger.domain.case import Case

from projection_support import NOW, Writer, at, place


def _cases(tenant: str) -> dict[str, Case]:
    cases = {}
    for i in range(12):
        cases[f"a{i}"] = place(tenant, f"a{i}", portfolio="cards-a", placed_at="2026-01-10",
                               principal=100_000, interest=10_000, past_due_amount=20_000,
                               days_past_due=45)
        cases[f"b{i}"] = place(tenant, f"b{i}", portfolio="cards-b", placed_at="2026-02-15",
                               principal=50_000, interest=0, fees=5_000, past_due_amount=10_000,
                               days_past_due=100)
    return cases


def _assignee(name: str) -> str | None:
    index = int(name[1:])
    if name[0] == "a":
        return "ann" if index < 6 else "bob"
    return "bob" if index < 6 else None


def _contacts(case: Case, name: str) -> None:
    agent = _assignee(name)
    first = case.placed_at + timedelta(days=5, hours=15)
    if int(name[1:]) % 2 == 0:
        case.record_contact(channel="phone", direction="outbound", outcome="right_party",
                            occurred_at=first, agent_id=agent, now=NOW)
    else:
        case.record_contact(channel="phone", direction="outbound", outcome="no_answer",
                            occurred_at=first, agent_id=agent, now=NOW)
        case.record_contact(channel="email", direction="outbound", outcome="delivered",
                            occurred_at=first + timedelta(days=1), agent_id=agent, now=NOW)


def _pay(case: Case, external_id: str, amount: int, when: str) -> None:
    case.receive_payment(external_id=external_id, amount=amount, currency="USD",
                         received_at=at(when), method="ach", now=NOW)


async def write_until_scheduler(writer: Writer) -> dict[str, Case]:
    cases = _cases(writer.tenant)
    await writer.save(*cases.values(), actor="integration:bank")
    for name, case in cases.items():
        agent = _assignee(name)
        if agent is not None:
            case.assign(assigned_at=case.placed_at + timedelta(days=1), agent_id=agent)
        _contacts(case, name)
        await writer.save(case, actor=f"agent:{agent or 'desk'}")
    promises = {"a3": (10_000, date(2026, 1, 31)), "a9": (20_000, date(2026, 1, 31)),
                "a10": (15_000, date(2026, 2, 10))}
    for name, (amount, due) in promises.items():
        cases[name].make_promise(amount=amount, due_date=due, made_at=at("2026-01-16T16:00"),
                                 agent_id=_assignee(name), now=NOW)
    cases["b8"].make_promise(amount=5_000, due_date=date(2026, 9, 30),
                             made_at=at("2026-02-21T16:00"), agent_id=None, now=NOW)
    cases["a11"].record_contact(channel="phone", direction="outbound", outcome="no_answer",
                                occurred_at=at("2026-01-17T23:00"), agent_id="bob", now=NOW)
    for i in range(8):
        _pay(cases[f"a{i}"], "P1", 10_000, "2026-01-20")
    cases["a1"].reverse_payment(external_id="P1", reason="returned", reversed_at=at("2026-01-25"),
                                now=NOW)
    cases["a2"].adjust_balance(kind="waiver", amount=5_000, reason="goodwill",
                               occurred_at=at("2026-02-01"), now=NOW)
    _pay(cases["a0"], "P2", 5_000, "2026-03-05")
    for i in range(4):
        _pay(cases[f"b{i}"], "P1", 5_000, "2026-02-25")
    _pay(cases["b6"], "P1", 20_000, "2026-03-01")
    changed = [c for c in cases.values() if c.pending_events]
    await writer.save(*changed, actor="integration:bank")
    return cases


async def write_late_facts(writer: Writer, cases: dict[str, Case]) -> None:
    """After the scheduler: a10's late payment, b6's backdated assignment and contact."""
    a10 = await writer.repository.load(cases["a10"].id)
    _pay(a10, "P1", 15_000, "2026-02-05")
    await writer.save(a10, actor="integration:bank")
    b6 = await writer.repository.load(cases["b6"].id)
    b6.assign(assigned_at=at("2026-02-20"), agent_id="cy")
    await writer.save(b6, actor="supervisor:sue")
    b6.record_contact(channel="sms", direction="outbound", outcome="right_party",
                      occurred_at=at("2026-02-27T12:00"), agent_id="cy", now=NOW)
    await writer.save(b6, actor="agent:cy")
