"""Crypto-shredding of debtor personal data: data keys, sealing, erasure (issue 6).

Wiring::

    keys = DataKeys(store.fetch, resolve_master_key(settings))
    repository = case_repository(store, keys)   # ledger.services.repositories: every writer
"""

from ledger.privacy.keys import DataKeys, MasterKeyMismatch
from ledger.privacy.master import resolve_master_key
from ledger.privacy.sealing import DebtorCipher

__all__ = ["DataKeys", "DebtorCipher", "MasterKeyMismatch", "resolve_master_key"]
