"""Request and response bodies of the HTTP API (msgspec Structs; their docstrings feed OpenAPI).

Request Structs forbid unknown fields, so a misspelt field is a ``422`` rather than silently
ignored. Responses are views built from the case: never events or aggregates themselves.
"""
