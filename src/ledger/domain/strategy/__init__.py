"""Contact strategies: documents, segment and arm evaluation, plans and the behaviour score.

Pure rules, no I/O and no clock; the ``Strategy`` aggregate (its own stream) is in
:mod:`ledger.domain.strategy.aggregate`, the case-side facts in ``ledger.domain.case``.
"""
