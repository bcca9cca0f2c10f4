"""Webhook endpoints: the aggregate and its pure rules (url shape, retry schedule, secrets)."""
