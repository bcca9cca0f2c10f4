"""Complaints: response deadlines (``deadlines``), the documented codes (``codes``) and the
``Case`` commands that receive, resolve and mark them overdue (``case_complaints``)."""
