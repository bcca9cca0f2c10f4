"""The API docs load nothing from outside: pinned Swagger UI files from our own origin, a CSP."""

from __future__ import annotations

import re

import pytest

PAGES = ["/schema", "/schema/swagger"]


@pytest.mark.parametrize("page", PAGES)
async def test_the_docs_page_loads_only_our_own_files_under_a_strict_policy(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "script-src 'self';" in policy and "http" not in policy
    assert "unsafe" not in policy  # no inline script or style beyond one hashed <style>
    html = response.text
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)
    referenced = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', html)
    assert referenced and all(url.startswith("/schema/assets/") for url in referenced), referenced
    for url in referenced:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert 'data-openapi-url="/schema/openapi.json"' in html


async def test_the_swagger_ui_files_come_with_their_licence(client):
    licence = await client.get("/schema/assets/LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text
    missing = await client.get("/schema/assets/no-such-file.js")
    assert missing.status_code == 404


async def test_other_routes_carry_no_docs_policy(client):
    assert "content-security-policy" not in (await client.get("/health")).headers
