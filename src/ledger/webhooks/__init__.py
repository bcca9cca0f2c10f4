"""Webhooks to bank systems: signing, the SSRF guard, endpoints and the delivery runner."""
