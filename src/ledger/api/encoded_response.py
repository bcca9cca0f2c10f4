"""A JSON body already encoded, handed to the server as it is: the case read's response.

For every response, even one whose content is bytes already, litestar's ``Response`` builds a
header mapping (``MutableScopeHeaders``), merges the route's headers into it, looks up a
serializer and renders the content: about 7% of a case read's CPU time, the hottest route
(bench/README.md, "Case GET, fourth round"). ``EncodedJson`` carries the encoded body and its
few headers as bytes and gives litestar a plain ASGI callable that sends them. Its type
argument documents the body in the OpenAPI document as ``Response[T]``'s does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from litestar import MediaType, Response
from litestar.types import Receive, Scope, Send

T = TypeVar("T")
_JSON = (b"content-type", MediaType.JSON.value.encode())


class EncodedJson(Response[T], Generic[T]):
    """``200`` with ``body`` (JSON, encoded by the caller) and ``headers`` (names in lower
    case). Only for routes without cookies or background tasks: it refuses them."""

    __slots__ = ("_encoded",)

    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        # Response's own __init__ checks its arguments against typing's Mapping (slow ABC
        # checks) and copies them; these are known, so its fields are set as it would.
        self.content = body
        self.headers = headers
        self.media_type = MediaType.JSON
        self.status_code = 200
        self.encoding = "utf-8"
        self.cookies = []
        self.background = None
        self.response_type_encoders = {}
        self._encoded = [
            *((name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()),
            _JSON, (b"content-length", str(len(body)).encode()),
        ]

    def to_asgi_response(  # type: ignore[override]
        self, app: Any, request: Any, *, background: Any = None,
        cookies: Iterable[Any] | None = None, headers: Mapping[str, str] | None = None,
        is_head_response: bool = False, **_: Any,
    ) -> _Ready:
        if background is not None or cookies:
            raise TypeError("EncodedJson is for routes without cookies or background tasks")
        encoded = self._encoded
        if headers:  # the route's own response headers come first, ours take precedence
            ours = {name for name, _ in encoded}
            encoded = [*((n.lower().encode("latin-1"), v.encode("latin-1"))
                         for n, v in headers.items() if n.lower().encode("latin-1") not in ours),
                       *encoded]
        return _Ready(encoded, b"" if is_head_response else self.content)


class _Ready:
    """The ASGI callable litestar awaits with the response: two messages, nothing else."""

    __slots__ = ("headers", "body")

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": self.headers})  # type: ignore[typeddict-item]
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
