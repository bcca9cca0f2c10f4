"""The case read's response: sent as encoded, with the headers litestar's Response would send."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Response

from ledger.api.encoded_response import EncodedJson


def _sent(response: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(response({}, None, send))
    return messages


def test_every_field_of_litestars_response_is_set() -> None:
    response = EncodedJson(b'{"a":1}', {"etag": '"3"'})
    assert all(hasattr(response, name) for name in Response.__slots__)
    assert response.status_code == 200 and response.content == b'{"a":1}'


def test_it_sends_the_body_as_given_with_its_headers_and_length() -> None:
    start, body = _sent(EncodedJson(b'{"a":1}', {"etag": '"3"'}).to_asgi_response(None, None))
    assert start == {"type": "http.response.start", "status": 200, "headers": [
        (b"etag", b'"3"'), (b"content-type", b"application/json"), (b"content-length", b"7")]}
    assert body == {"type": "http.response.body", "body": b'{"a":1}', "more_body": False}


def test_the_routes_headers_come_first_and_its_own_win() -> None:
    asgi = EncodedJson(b"{}", {"etag": '"3"'}).to_asgi_response(
        None, None, headers={"Cache-Control": "no-store", "ETag": '"old"'})
    start, _ = _sent(asgi)
    assert start["headers"][0] == (b"cache-control", b"no-store")
    assert [value for name, value in start["headers"] if name == b"etag"] == [b'"3"']


def test_a_head_response_has_no_body_and_cookies_are_refused() -> None:
    _, body = _sent(EncodedJson(b"{}", {}).to_asgi_response(None, None, is_head_response=True))
    assert body["body"] == b""
    with pytest.raises(TypeError):
        EncodedJson(b"{}", {}).to_asgi_response(None, None, cookies=["c"])
