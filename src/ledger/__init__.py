"""Ledger: an event-sourced backend for collecting delinquent consumer debt."""

__version__ = "0.1.0"
