"""Audit services: history, time travel, statements, chain verification and export (issue 6)."""
