"""Pure domain of Ledger: the ``Case`` aggregate, money, promises, delinquency, compliance.

No I/O and no clock reads: every command takes its business time (and ``now`` when a rule
needs it) as an argument. Start with :mod:`ledger.domain.case`.
"""

from ledger.domain.case import Case, Overdue, PaymentReceipt, due_for_breaking
from ledger.domain.errors import DomainError, InvalidRequest
from ledger.domain.values import Debtor, Instalment
from ledger.domain.view import CaseView

__all__ = [
    "Case", "CaseView", "Debtor", "DomainError", "Instalment", "InvalidRequest", "Overdue",
    "PaymentReceipt", "due_for_breaking",
]
