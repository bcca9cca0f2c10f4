"""Application services: what the API and the CLI do, between HTTP and the domain.

Each case command loads the case, calls the domain, and appends the new events, retrying on
a version conflict; keys and secrets live here too so the CLI and the API share them.
"""
