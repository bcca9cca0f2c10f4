"""Messages to debtors: template rules, money formatting, sms length, opt-out words and the
Regulation F validation period. Pure functions; the ``Template`` aggregate lives in
:mod:`ledger.domain.messaging.template`, the case's message facts on the ``Case`` stream."""
