"""Reporting for BI tools: per-tenant PostgreSQL login roles over the `reporting` views."""
