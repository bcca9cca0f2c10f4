"""Letters as PDF (fpdf2), rendered on request from the sealed content and never stored.

A letter has the agency name, the debtor's address block, the date and reference, the
rendered body, the amounts (the Regulation F itemisation for a validation notice, else the
balance) and a detachable payment slip. Text is set in DejaVu Sans when the system has it
(any script); otherwise in the PDF core font, with characters outside Latin-1 replaced.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF

from ledger.domain.messaging.money_format import format_money
from ledger.domain.messaging.records import MessageRecord
from ledger.messaging.content import MessageContent

if TYPE_CHECKING:
    from ledger.domain.case import Case

UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
UNICODE_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
LOCALE = "en_US"


class _Letter:
    def __init__(self) -> None:
        self.pdf = FPDF(format="Letter", unit="mm")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_creator("Ledger")
        self.unicode = UNICODE_FONT.exists() and UNICODE_BOLD.exists()
        if self.unicode:
            self.pdf.add_font("Body", "", str(UNICODE_FONT))
            self.pdf.add_font("Body", "B", str(UNICODE_BOLD))
            self.family = "Body"
        else:
            self.family = "Helvetica"
        self.pdf.add_page()

    def text(self, value: str) -> str:
        if self.unicode:
            return value
        return value.replace("€", "EUR ").encode("latin-1", "replace").decode("latin-1")

    def line(self, value: str, *, size: int = 11, bold: bool = False, height: float = 6) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, height, self.text(value), new_x="LMARGIN", new_y="NEXT")

    def row(self, label: str, amount: str, *, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", 11)
        self.pdf.cell(120, 7, self.text(label), border="B")
        self.pdf.cell(0, 7, self.text(amount), border="B", align="R",
                      new_x="LMARGIN", new_y="NEXT")

    def gap(self, height: float = 4) -> None:
        self.pdf.ln(height)


def render_letter_pdf(case: Case, record: MessageRecord, content: MessageContent,
                      agency_name: str) -> bytes:
    """The PDF bytes of a letter message."""
    def money(amount: int) -> str:
        return format_money(amount, case.currency, LOCALE)

    letter = _Letter()
    letter.line(agency_name, size=16, bold=True, height=8)
    letter.gap(6)
    for part in [content.debtor_name or "", *(content.address or content.to).splitlines()]:
        if part.strip():
            letter.line(part.strip())
    letter.gap(6)
    letter.line(f"Date: {record.send_at.date().isoformat()}")
    letter.line(f"Reference: {case.external_ref}")
    if content.subject:
        letter.gap(2)
        letter.line(content.subject, bold=True)
    letter.gap(4)
    letter.line(content.body, size=10, height=5)
    letter.gap(4)
    item = record.itemization
    if item is not None:
        letter.line("Itemization of the debt", bold=True)
        letter.row(f"As of {item.itemization_date.isoformat()}, you owed",
                   money(item.itemization_amount))
        letter.row("Interest charged since then", "+ " + money(item.interest_since))
        letter.row("Fees charged since then", "+ " + money(item.fees_since))
        letter.row("Payments made since then", "- " + money(item.payments_since))
        letter.row("Credits applied since then", "- " + money(item.credits_since))
        letter.row("Total amount of the debt now", money(item.current_amount), bold=True)
        letter.gap(3)
        letter.line("You may dispute all or part of the debt until "
                    f"{item.validation_period_ends.isoformat()} "
                    "(end of the validation period).", bold=True)
        due = item.current_amount
    else:
        letter.row("Balance owed", money(case.balance), bold=True)
        due = case.balance
    letter.gap(8)
    letter.line("- " * 45, size=8, height=4)
    letter.line("PAYMENT SLIP - detach and return with your payment", bold=True)
    letter.row("Pay to", agency_name)
    letter.row("Reference", case.external_ref)
    letter.row("Amount due", money(due), bold=True)
    letter.row("Amount enclosed", "________________")
    return bytes(letter.pdf.output())
