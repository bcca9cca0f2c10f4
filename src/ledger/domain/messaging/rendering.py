"""The values a template sees for one case, and the rendered message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ledger.domain.messaging.fields import (
    FIELDS,
    MONEY_FIELDS,
    OPT_OUT_TEXT,
    MessageChannel,
)
from ledger.domain.messaging.money_format import format_money
from ledger.domain.messaging.records import Itemization
from ledger.domain.messaging.templates import check_sms_length, render_text
from ledger.domain.values import PromiseStatus

if TYPE_CHECKING:
    from ledger.domain.case import Case


class Rendered(msgspec.Struct, frozen=True):
    subject: str | None
    body: str


def template_values(case: Case, channel: MessageChannel, locale: str, agency_name: str,
                    itemization: Itemization | None = None) -> dict[str, str]:
    """Every field of the fixed list, as text (money formatted for ``locale``).

    A field without a value here (no pending promise, not a validation notice) is the empty
    string, so a template renders for every case; an unknown field is refused at save time.
    """
    money = {"balance": case.balance}
    values = {name: "" for name in FIELDS}
    debtor = case.debtor
    values.update(
        debtor_name=(debtor.name or "") if debtor is not None else "",
        currency=case.currency, external_ref=case.external_ref, agency_name=agency_name,
        opt_out=OPT_OUT_TEXT[channel],
    )
    promise = case.promises[-1] if case.promises else None
    if promise is not None and promise.status is PromiseStatus.PENDING:
        money["promise_amount"] = promise.amount
        values["promise_due_date"] = promise.due_date.isoformat()
    if itemization is not None:
        for name in MONEY_FIELDS - {"balance", "promise_amount"}:
            money[name] = getattr(itemization, name)
        values["itemization_date"] = itemization.itemization_date.isoformat()
        values["validation_period_ends"] = itemization.validation_period_ends.isoformat()
    for name, amount in money.items():
        values[name] = format_money(amount, case.currency, locale)
    return values


def render_message(channel: MessageChannel, subject: str | None, body: str,
                   values: dict[str, str]) -> Rendered:
    """Render a template; an sms over the segment limit is ``message_too_long``."""
    text = render_text(body, values)
    if channel is MessageChannel.SMS:
        check_sms_length(text)
    return Rendered(render_text(subject, values, "subject") if subject is not None else None,
                    text)
