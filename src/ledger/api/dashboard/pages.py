"""The dashboard's pages, built from the same reports as ``/v1/metrics/*`` (``metric_reports``).

Each builder takes the pool, the tenant, the parsed filters and "now", and returns a ``Page``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from ledger.api import metric_reports as reports
from ledger.api.dashboard.roll_matrix import OUTCOMES, roll_matrix
from ledger.api.dashboard.svg import Series, bar_chart, line_chart
from ledger.api.dashboard.tables import Column, Page, Section, Table
from ledger.api.periods import month_span
from ledger.projections import NAMES, as_of_position, lags, queries

MAX_COHORTS = 12
LATEST_BREACHES = 50
RECOVERY_COLUMNS = [Column("group", "Group", "text"), Column("cases", "Cases"),
                    Column("cases_paid", "Cases paid"),
                    Column("placed_amount", "Placed (minor units)", "amount"),
                    Column("recovered_amount", "Recovered (minor units)", "amount"),
                    Column("recovery_rate", "Recovery rate", "rate")]
PROMISE_COLUMNS = [Column("group", "Group", "text"), Column("made", "Made"),
                   Column("kept", "Kept"), Column("broken", "Broken"),
                   Column("pending", "Pending"), Column("kept_rate", "Kept rate", "rate")]
CONTACT_COLUMNS = [Column("group", "Group", "text"), Column("attempts", "Attempts"),
                   Column("contacts", "Contacts"), Column("right_party", "Right party"),
                   Column("contact_rate", "Contact rate", "rate"),
                   Column("rpc_rate", "RPC rate", "rate"), Column("inbound", "Inbound")]
BREACH_COUNT_SQL = """
    SELECT rule, count(*)::int8 FROM rm_breaches
    WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2)
      AND ($3::timestamptz IS NULL OR occurred_at < $3)
    GROUP BY 1 ORDER BY 1
"""
BREACH_ROLES = {"supervisor", "admin"}  # as the breach report route


@dataclass(frozen=True)
class Filters:
    start: datetime | None
    end: datetime | None
    month: str | None
    role: str


def _rows(items: list[Any]) -> list[dict[str, Any]]:
    return [msgspec.structs.asdict(item) for item in items]


async def overview(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    by_portfolio = await reports.recovery(pool, tenant, "portfolio", f.start, f.end)
    by_cohort = await reports.recovery(pool, tenant, "cohort", f.start, f.end)
    lag_rows = [msgspec.structs.asdict(lag) for lag in await lags(pool, NAMES)]
    return Page("overview", "Recovery", [
        Section("Recovery by portfolio", [Table(
            "recovery-portfolio", "Recovery of the cases placed in the period, by portfolio",
            RECOVERY_COLUMNS, _rows(by_portfolio.items))],
            bar_chart("Recovery rate by portfolio",
                      [(i.group, i.recovery_rate) for i in by_portfolio.items], ident="rp")),
        Section("Recovery by cohort (placement month)", [Table(
            "recovery-cohort", "Recovery of the cases placed in the period, by placement month",
            RECOVERY_COLUMNS, _rows(by_cohort.items))],
            bar_chart("Recovery rate by cohort",
                      [(i.group, i.recovery_rate) for i in by_cohort.items], ident="rc")),
        Section("Projection lag", [Table(
            "projection-lag", "How far each read model is behind the event feed",
            [Column("name", "Read model", "text"), Column("events_applied", "Events applied"),
             Column("positions_behind", "Events behind"),
             Column("seconds_behind", "Seconds behind", "text")], lag_rows)],
            note="Figures include the events each read model has applied; 0 behind is current."),
    ], as_of_position=by_portfolio.as_of_position)


async def liquidation(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    cohorts = (await reports.recovery(pool, tenant, "cohort", f.start, f.end)).items
    chosen = [c.group for c in cohorts][-MAX_COHORTS:]
    rows: list[dict[str, Any]] = []
    series = []
    as_of = await as_of_position(pool, "cases")
    for cohort in chosen:
        first, following = month_span(cohort, "cohort")
        curve = await reports.liquidation(pool, tenant, first, following, now)
        rows += [{"cohort": cohort, **msgspec.structs.asdict(p)} for p in curve.items]
        series.append(Series(cohort, [(p.month, p.recovery_rate) for p in curve.items]))
    columns = [Column("cohort", "Cohort", "text"), Column("month", "Month since placement"),
               Column("placed_amount", "Placed (minor units)", "amount"),
               Column("recovered_amount", "Recovered to date (minor units)", "amount"),
               Column("recovery_rate", "Cumulative recovery rate", "rate")]
    note = (f"The {MAX_COHORTS} latest cohorts placed in the period."
            if len(cohorts) > MAX_COHORTS else None)
    return Page("liquidation", "Liquidation curves", [Section(
        "Cumulative recovery by month since placement",
        [Table("liquidation", "Liquidation curve of each cohort", columns, rows)],
        line_chart("Cumulative recovery rate by months since placement", series,
                   ident="lq", x_label="months since placement"), note)], as_of_position=as_of)


async def promises(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    by_agent = await reports.promises(pool, tenant, "agent", f.start, f.end)
    by_portfolio = await reports.promises(pool, tenant, "portfolio", f.start, f.end)
    return Page("promises", "Promises to pay", [
        Section("Kept rate by agent", [Table(
            "promises-agent", "Promises due in the period, by the agent who took them",
            PROMISE_COLUMNS, _rows(by_agent.items))],
            bar_chart("Promise kept rate by agent",
                      [(i.group, i.kept_rate) for i in by_agent.items], ident="pa",
                      maximum=1.0)),
        Section("Kept rate by portfolio", [Table(
            "promises-portfolio", "Promises due in the period, by portfolio", PROMISE_COLUMNS,
            _rows(by_portfolio.items))],
            bar_chart("Promise kept rate by portfolio",
                      [(i.group, i.kept_rate) for i in by_portfolio.items], ident="pp",
                      maximum=1.0)),
    ], as_of_position=by_agent.as_of_position)


async def contacts(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    by_channel = await reports.contacts(pool, tenant, "channel", f.start, f.end)
    by_agent = await reports.contacts(pool, tenant, "agent", f.start, f.end)
    return Page("contacts", "Contact and right-party-contact rates", [
        Section("By channel", [Table(
            "contacts-channel", "Outbound attempts and who they reached, by channel",
            CONTACT_COLUMNS, _rows(by_channel.items))],
            bar_chart("Right-party-contact rate by channel",
                      [(i.group, i.rpc_rate) for i in by_channel.items], ident="cc",
                      maximum=1.0)),
        Section("By agent", [Table(
            "contacts-agent", "Outbound attempts and who they reached, by agent",
            CONTACT_COLUMNS, _rows(by_agent.items))],
            bar_chart("Contact rate by agent",
                      [(i.group, i.contact_rate) for i in by_agent.items], ident="ca",
                      maximum=1.0)),
    ], as_of_position=by_channel.as_of_position)


async def roll_rates(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    month = f.month or f"{now.year:04d}-{now.month:02d}"
    first, following = month_span(month, "month")
    report = await reports.roll_rates(pool, tenant, first, following)
    columns = [Column("group", "Bucket at the start", "text"),
               Column("cases", "Open cases"), Column("rolled", "Rolled to the next bucket"),
               Column("roll_rate", "Roll rate", "rate"), Column("cured", "Cured"),
               Column("cure_rate", "Cure rate", "rate")]
    matrix = await roll_matrix(pool, tenant, first, following)
    matrix_columns = [Column("group", "From bucket", "text"), Column("cases", "Open cases"),
                      *(Column(o, f"→ {o}") for o in OUTCOMES)]
    page = Page("roll-rates", f"Roll rates, {month}", [
        Section("Roll and cure rates", [Table(
            "roll-rates", f"Of each bucket's open cases at the start of {month}, the share in "
            "the next bucket and the share cured at its end", columns, _rows(report.items))],
            bar_chart("Roll rate by DPD bucket", [(i.group, i.roll_rate) for i in report.items],
                      ident="rr", maximum=1.0),
            note="For 180+, the roll rate is the share still in 180+."),
        Section("Roll-rate matrix", [Table(
            "roll-matrix", f"Where each bucket's open cases at the start of {month} were at "
            "its end (case counts)", matrix_columns, matrix)]),
    ], filters="month", as_of_position=report.as_of_position)
    page.values["month"] = month
    return page


async def breaches(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    if f.role not in BREACH_ROLES:
        return Page("breaches", "Compliance breaches", [Section(
            "Not available", [], note="The breach report is for supervisors and admins; "
                                      f"a{'n' if f.role[0] in 'aeiou' else ''} {f.role} key "
                                      "does not include it.")])
    counts = await pool.fetch(BREACH_COUNT_SQL, tenant, f.start, f.end)
    latest = await queries.breaches(pool, tenant, start=f.start, end=f.end, rule=None,
                                    agent_id=None, after=None, limit=LATEST_BREACHES)
    count_rows = [{"rule": r[0], "breaches": int(r[1])} for r in counts]
    latest_rows = [{"occurred_at": r["occurred_at"], "rule": r["rule"], "agent": r["agent"],
                    "channel": r["channel"], "case_id": str(r["case_id"])} for r in latest]
    return Page("breaches", "Compliance breaches", [
        Section("Breaches by rule", [Table(
            "breaches-rule", "Rules broken by contacts that happened in the period",
            [Column("rule", "Rule", "text"), Column("breaches", "Breaches")], count_rows)],
            bar_chart("Breaches by rule", [(r["rule"], r["breaches"]) for r in count_rows],
                      ident="br", percent=False)),
        Section(f"Earliest {LATEST_BREACHES} breaches in the period", [Table(
            "breaches-list", "Breaches in business-time order",
            [Column("occurred_at", "Happened at (UTC)", "time"), Column("rule", "Rule", "text"),
             Column("agent", "Agent", "text"), Column("channel", "Channel", "text"),
             Column("case_id", "Case", "text")], latest_rows)]),
    ], as_of_position=await as_of_position(pool, "compliance"))


async def arms(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    """Champion and challenger side by side (strategies, issue 14): the same figures as
    ``/v1/metrics/*?group_by=arm|segment``."""
    recovery = await reports.recovery(pool, tenant, "arm", f.start, f.end)
    promised = await reports.promises(pool, tenant, "arm", f.start, f.end)
    contacted = await reports.contacts(pool, tenant, "arm", f.start, f.end)
    segments = await reports.recovery(pool, tenant, "segment", f.start, f.end)
    return Page("arms", "Strategy arms side by side", [
        Section("Recovery by arm", [Table(
            "recovery-arm", "Recovery of the cases placed in the period, by the arm each "
            "payment was made in", RECOVERY_COLUMNS, _rows(recovery.items))],
            bar_chart("Recovery rate by arm", [(i.group, i.recovery_rate)
                                               for i in recovery.items], ident="ar")),
        Section("Promises by arm", [Table(
            "promises-arm", "Promises due in the period, by arm", PROMISE_COLUMNS,
            _rows(promised.items))],
            bar_chart("Promise kept rate by arm", [(i.group, i.kept_rate)
                                                   for i in promised.items], ident="ap",
                      maximum=1.0)),
        Section("Contacts by arm", [Table(
            "contacts-arm", "Outbound attempts in the period, by arm", CONTACT_COLUMNS,
            _rows(contacted.items))],
            bar_chart("Right-party-contact rate by arm", [(i.group, i.rpc_rate)
                                                          for i in contacted.items],
                      ident="ac", maximum=1.0)),
        Section("Recovery by segment", [Table(
            "recovery-segment", "Recovery by the strategy segment of each payment",
            RECOVERY_COLUMNS, _rows(segments.items))]),
    ], as_of_position=recovery.as_of_position)


COMPLAINT_COLUMNS = [Column("group", "Group", "text"), Column("received", "Received"),
                     Column("resolved", "Resolved"), Column("open", "Open"),
                     Column("overdue", "Overdue"), Column("upheld", "Upheld"),
                     Column("partial", "Partly upheld"), Column("rejected", "Rejected"),
                     Column("redress_amount", "Redress (minor units)", "amount"),
                     Column("resolution_hours_p50", "Hours to resolve, median", "text"),
                     Column("resolution_hours_p90", "Hours to resolve, p90", "text")]


async def complaints(pool: asyncpg.Pool, tenant: str, f: Filters, now: datetime) -> Page:
    """Complaints received in the period (issue 15): ``/v1/metrics/complaints``."""
    sections, as_of = [], None
    for group_by, heading in (("category", "By category"), ("root_cause", "By root cause"),
                              ("agent", "By agent")):
        report = await reports.complaints(pool, tenant, group_by, f.start, f.end, now)
        as_of = report.as_of_position
        rows = [{k: v for k, v in msgspec.structs.asdict(i).items()
                 if k != "resolution_hours_p95"} for i in report.items]
        chart = bar_chart("Complaints received by category",
                          [(i.group, i.received) for i in report.items], ident="cq",
                          percent=False) if group_by == "category" else None
        sections.append(Section(heading, [Table(
            f"complaints-{group_by.replace('_', '-')}",
            f"Complaints received in the period, {heading.lower()}", COMPLAINT_COLUMNS, rows)],
            chart))
    return Page("complaints", "Complaints", sections, as_of_position=as_of)


BUILDERS = {"overview": overview, "liquidation": liquidation, "promises": promises,
            "contacts": contacts, "roll-rates": roll_rates, "breaches": breaches, "arms": arms,
            "complaints": complaints}
NAVIGATION = [("overview", "Recovery"), ("liquidation", "Liquidation"),
              ("promises", "Promises"), ("contacts", "Contacts"), ("roll-rates", "Roll rates"),
              ("breaches", "Breaches"), ("complaints", "Complaints"),
              ("arms", "Strategy arms")]


def utc_now() -> datetime:
    return datetime.now(UTC)
