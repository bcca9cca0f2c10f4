"""The API docs (``/schema``, ``/schema/swagger``) served entirely from our own origin.

litestar's render plugins load Scalar (``@latest``) and Swagger UI from public CDNs: blank on an
isolated network, and an unpinned outside script running in the page where people paste API
keys. Here Swagger UI comes from the pinned ``swagger-ui-py`` wheel (its ``static`` folder,
Apache-2.0, licence file included), the start-up script is a file of ours rather than inline
code, and every docs and dashboard response carries a Content-Security-Policy that allows
nothing but our own origin.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/schema/assets"
OUR_ASSETS = Path(__file__).with_name("static")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI's logo is an SVG with one small <style> element: allowed by its hash (pinned
# release), so no other inline style, and no inline script at all, can run on the docs page.
SWAGGER_LOGO_STYLE = ".logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}"
DOCS_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self';", "style-src 'self' 'sha256-"
    + base64.b64encode(hashlib.sha256(SWAGGER_LOGO_STYLE.encode()).digest()).decode() + "';")
PROTECTED_PREFIXES = ("/schema", "/dashboard")


def swagger_assets() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).with_name("static")


class OfflineSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI from ``ASSETS_PATH``: no CDN, no inline script or style."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            style="", **kwargs)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = escape(str(openapi_schema["info"]["title"]))
        spec_url = escape(request.app.openapi_config.path.rstrip("/") + "/openapi.json")  # type: ignore[union-attr]
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} API</title>
  {self.favicon}
  <link rel="stylesheet" href="{self.css_url}">
  <link rel="stylesheet" href="{ASSETS_PATH}/docs.css">
  <script src="{self.js_url}"></script>
  <script src="{self.standalone_preset_js_url}"></script>
  <script src="{ASSETS_PATH}/swagger-init.js"></script>
</head>
<body data-openapi-url="{spec_url}">
  <main id="swagger-ui"></main>
</body>
</html>""".encode()


def assets_router() -> Router:
    """Our docs files first, then the wheel's Swagger UI files; no key needed."""
    return create_static_files_router(
        path=ASSETS_PATH, directories=[OUR_ASSETS, swagger_assets()],
        include_in_schema=False, name="docs-assets",
    )


def security_headers(path: str) -> tuple[tuple[bytes, bytes], ...]:
    """Headers the docs and dashboard pages must carry: they may load only from our own origin
    (added at the edge, ``ledger.api.edge``, unless the page set its own)."""
    if not path.startswith(PROTECTED_PREFIXES):
        return ()
    return _DOCS_HEADERS if path.startswith("/schema") else _PAGE_HEADERS


def _page_headers(policy: str) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((name.encode(), value.encode()) for name, value in (
        ("content-security-policy", policy), ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"), ("x-frame-options", "DENY")))


_DOCS_HEADERS = _page_headers(DOCS_POLICY)
_PAGE_HEADERS = _page_headers(CONTENT_SECURITY_POLICY)
