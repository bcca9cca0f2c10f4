"""Negotiation: offer policies per portfolio, the offers they allow, authority limits.

Pure rules (no I/O, no clock): ``terms`` (the policy document and its validation),
``offers`` (settlement and instalment arithmetic), ``calendar`` (the days a debtor can be
asked to pay), ``authority`` (what a role may agree alone and what needs a second person).
``policy`` is the ``OfferPolicy`` aggregate; ``case_approvals`` the maker–checker commands
of ``Case``.
"""
