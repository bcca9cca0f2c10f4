"""The life of one demo case, planned from a seed: placement, then dated steps with actors.

Each case draws from its own ``random.Random(f"{seed}:{index}")``, so case 42 is the same in a
200-case and a 2,000-case demo, and a plan never depends on wall-clock time — only on the seed,
the index and the portfolio's ``end`` instant. Steps are ordinary domain commands (agents
contact during local daytime, debtors promise and pay or don't, the bank posts and sometimes
reverses payments, disputes and holds happen, a few agents call too late or too often); a step
the domain refuses is simply skipped, exactly as a refused API call would record nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ledger.domain.case import Case
from ledger.domain.values import Debtor, Instalment

DEMO_PREFIX = "DEMO-"
PORTFOLIO_DAYS = 182
AGENTS = [f"agent-{n:02d}" for n in range(1, 13)]
BANK = "demo:bank-feed"
SUPERVISOR = "demo:supervisor"
SCHEDULER = "system:scheduler"
# Places with their IANA zone and the jurisdiction preset that picks the compliance rules.
REGIONS = [("America/New_York", "US-NY"), ("America/Chicago", "US-TX"),
           ("America/Los_Angeles", "US-CA"), ("America/Denver", "US-CO"),
           ("Europe/London", "GB"), ("Asia/Shanghai", "CN")]
FIRST_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jade",
               "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq"]
LAST_NAMES = ["Li", "Okafor", "Garcia", "Novak", "Smith", "Haddad", "Kim", "Rossi", "Nguyen",
              "Brown", "Silva", "Khan", "Muller", "Dubois", "Sato", "Ivanova"]

Command = Callable[[Case], object]


@dataclass(frozen=True)
class Step:
    """One command on the case at business time ``at``, recorded as done by ``actor``."""

    at: datetime
    actor: str
    command: Command


@dataclass
class CasePlan:
    """A case to place and what happens to it afterwards, oldest first."""

    external_ref: str
    placed_at: datetime
    placement: dict[str, object]
    steps: list[Step] = field(default_factory=list)


def plan_case(seed: int, index: int, end: datetime) -> CasePlan:
    """The deterministic plan of demo case ``index`` in a portfolio ending at ``end``."""
    rng = random.Random(f"{seed}:{index}")
    start = end - timedelta(days=PORTFOLIO_DAYS)
    placed_at = start + timedelta(days=rng.uniform(0, PORTFOLIO_DAYS - 20))
    placed_at = placed_at.replace(hour=rng.choice([6, 7, 13, 14]), minute=0, second=0,
                                  microsecond=0)
    zone_name, jurisdiction = rng.choice(REGIONS)
    principal = rng.randrange(40_000, 1_200_000, 100)
    interest = int(principal * rng.uniform(0.02, 0.18))
    fees = rng.choice([0, 2_900, 3_900, 7_800])
    days_past_due = rng.randrange(35, 175)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    debtor = Debtor(
        name=f"{first} {last}", phones=(f"+1555{rng.randrange(10**7):07d}",),
        emails=(f"{first}.{last}{index}@example.com".lower(),), timezone=zone_name,
        jurisdiction=jurisdiction)
    plan = CasePlan(f"{DEMO_PREFIX}{index:05d}", placed_at, dict(
        portfolio=f"cards-{placed_at:%Y}q{(placed_at.month - 1) // 3 + 1}", product="credit_card",
        currency="USD", principal=principal, interest=interest, fees=fees,
        past_due_amount=min(principal + interest + fees, principal // 8 + fees),
        days_past_due=days_past_due, placed_at=placed_at, debtor=debtor))
    _Story(rng, plan, ZoneInfo(zone_name), end, principal + interest + fees).tell()
    return plan


class _Story:
    """Writes the steps of one case; every decision is a draw from the case's own ``rng``."""

    def __init__(self, rng: random.Random, plan: CasePlan, zone: ZoneInfo, end: datetime,
                 balance: int) -> None:
        self.rng, self.plan, self.zone, self.end = rng, plan, zone, end
        self.balance = balance
        self.agent = rng.choice(AGENTS)
        self.payments = 0

    def add(self, at: datetime, actor: str, command: Command) -> None:
        if at < self.end:
            self.plan.steps.append(Step(at, actor, command))

    def local(self, day: date, hour: float) -> datetime:
        moment = datetime.combine(day, time(int(hour), int(hour % 1 * 60)), self.zone)
        return moment.astimezone(UTC)

    def tell(self) -> None:
        rng, now = self.rng, self.plan.placed_at + timedelta(hours=2)
        self.add(now, SUPERVISOR, lambda c, a=self.agent, t=now: c.assign(agent_id=a, assigned_at=t))
        day = now.astimezone(self.zone).date() + timedelta(days=1)
        sloppy = rng.random() < 0.04  # an agent who calls too late or too often
        while self.local(day, 8) < self.end:
            day += timedelta(days=rng.choice([1, 1, 2, 3, 5, 8]))
            hour = rng.uniform(21.2, 22.5) if sloppy and rng.random() < 0.3 else rng.uniform(8.5, 20.5)
            at = self.local(day, hour)
            outcome = rng.choices(["no_answer", "voicemail", "busy", "right_party", "third_party",
                                   "wrong_number", "refused"], [38, 20, 8, 22, 6, 3, 3])[0]
            self.contact(at, outcome)
            if outcome == "right_party":
                if not self.converse(day, at):
                    break
            if rng.random() < 0.03:
                self.protect(at)
                break
        if rng.random() < 0.05 and self.payments == 0:
            at = self.end - timedelta(days=rng.uniform(1, 20))
            self.add(at, SUPERVISOR, lambda c, t=at: c.close(reason="recalled", closed_at=t))

    def contact(self, at: datetime, outcome: str) -> None:
        channel = "phone" if self.rng.random() < 0.85 else self.rng.choice(["sms", "email"])
        if channel != "phone":
            outcome = "delivered"
        duration = self.rng.randrange(40, 900) if outcome == "right_party" else None
        self.add(at, f"demo:{self.agent}", lambda c, t=at, ch=channel, o=outcome, d=duration:
                 c.record_contact(channel=ch, direction="outbound", outcome=o, occurred_at=t,
                                  agent_id=self.agent, duration_seconds=d))

    def converse(self, day: date, at: datetime) -> bool:
        """A conversation: promise, arrangement, dispute or nothing; False ends collection."""
        rng, roll = self.rng, self.rng.random()
        if roll < 0.45:
            amount = max(1_000, int(self.balance * rng.uniform(0.05, 0.3)) // 100 * 100)
            due = day + timedelta(days=rng.randrange(3, 21))
            made = at + timedelta(minutes=3)
            self.add(made, f"demo:{self.agent}", lambda c, m=made, a=amount, d=due: c.make_promise(
                amount=a, due_date=d, made_at=m, agent_id=self.agent))
            if rng.random() < 0.6:  # kept: the bank posts the payment before the due date
                self.pay(self.local(due - timedelta(days=rng.randrange(0, 3)), 11), amount)
            return True
        if roll < 0.6:
            count = rng.randrange(3, 7)
            amount = max(1_000, int(self.balance * 0.9 / count) // 100 * 100)
            plan = tuple(Instalment(day + timedelta(days=30 * (n + 1)), amount) for n in range(count))
            agreed, waive = at + timedelta(minutes=5), rng.random() < 0.3
            self.add(agreed, f"demo:{self.agent}", lambda c, t=agreed, p=plan, w=waive:
                     c.agree_arrangement(kind="installments", instalments=p, waive_interest=w,
                                         agreed_at=t, grace_days=3))
            for instalment in plan[: rng.randrange(0, count + 1)]:
                self.pay(self.local(instalment.due_date - timedelta(days=1), 10), instalment.amount)
            return rng.random() < 0.5
        if roll < 0.68:
            opened = at + timedelta(minutes=2)
            self.add(opened, f"demo:{self.agent}", lambda c, t=opened: c.open_dispute(
                reason="debtor disputes the balance", opened_at=t))
            if rng.random() < 0.5:
                resolved = opened + timedelta(days=rng.randrange(10, 40))
                outcome = rng.choice(["upheld", "rejected"])
                self.add(resolved, SUPERVISOR, lambda c, t=resolved, o=outcome: c.resolve_dispute(
                    dispute_id=next(iter(c.disputes)), outcome=o, resolved_at=t))
                return outcome == "rejected"
            return False
        if roll < 0.75 and self.balance > 0:  # pays everything off and the case closes
            paid_at = at + timedelta(days=rng.randrange(1, 10))
            self.pay(paid_at, self.balance)
            closed = paid_at + timedelta(hours=3)
            self.add(closed, BANK, lambda c, t=closed: c.close(reason="paid", closed_at=t))
            return False
        return True

    def pay(self, at: datetime, amount: int) -> None:
        self.payments += 1
        reference = f"{self.plan.external_ref}-P{self.payments}"
        method = self.rng.choice(["ach", "card", "card", "check"])
        self.add(at, BANK, lambda c, t=at, r=reference, a=amount, m=method: c.receive_payment(
            external_id=r, amount=a, currency="USD", received_at=t, method=m))
        self.balance = max(0, self.balance - amount)
        if method == "check" and self.rng.random() < 0.3:  # a bounced cheque
            reversed_at = at + timedelta(days=self.rng.randrange(2, 6))
            self.add(reversed_at, BANK, lambda c, t=reversed_at, r=reference: c.reverse_payment(
                external_id=r, reason="returned item: insufficient funds", reversed_at=t))
            self.balance += amount

    def protect(self, at: datetime) -> None:
        rng = self.rng
        later = at + timedelta(hours=rng.randrange(2, 48))
        if rng.random() < 0.5:
            self.add(later, BANK, lambda c, t=later: c.cease_communication(received_at=t))
        else:
            self.add(later, f"demo:{self.agent}", lambda c, t=later: c.place_hold(
                kind="hardship", starts_at=t, until=t + timedelta(days=60)))
