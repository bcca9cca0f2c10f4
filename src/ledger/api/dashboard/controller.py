"""``/dashboard``: server-rendered pages for people, signed in with an API key.

Sign-in takes an API key of role analyst, supervisor, auditor or admin and sets a signed
session cookie (``session``); the key itself is never stored in the browser. State-changing
requests (sign-in, sign-out) must come from our own origin when the browser says where they
come from, and sign-out also needs the session's CSRF token.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from ledger.api.auth import client_of, retry_after
from ledger.api.csv_export import csv_response
from ledger.api.dashboard import pages
from ledger.api.dashboard.session import COOKIE, LIFETIME_SECONDS, PATH, Session, SessionSigner, csrf_matches
from ledger.api.dashboard.tables import display, raw
from ledger.api.periods import instant
from ledger.api.problems import ProblemError
from ledger.services.keys import find_key

ROLES = frozenset({"analyst", "supervisor", "auditor", "admin"})
KEY_SQL = "SELECT tenant_id, role, revoked_at FROM api_keys WHERE key_id = $1"
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _signer(request: Request) -> SessionSigner:
    state = request.app.state
    if "dashboard_signer" not in state:
        state.dashboard_signer = SessionSigner(state.key_cache.secret)
    return state.dashboard_signer  # type: ignore[no-any-return]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by every client; SameSite=Strict and the CSRF token still hold
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


def _cookie(request: Request, value: str, max_age: int) -> Cookie:
    return Cookie(key=COOKIE, value=value, max_age=max_age, path=PATH, httponly=True,
                  samesite="strict", secure=request.url.scheme == "https")


async def _session(request: Request) -> Session | None:
    """The signed-in session, if its key still exists, is not revoked and may read reports."""
    session = _signer(request).read(request.cookies.get(COOKIE))
    if session is None:
        return None
    row = await request.app.state.pool.fetchrow(KEY_SQL, session.key_id)
    if row is None or row["revoked_at"] is not None or row["role"] not in ROLES:
        return None
    return session


async def _read_pool(request: Request) -> Any:
    """Where the figures come from: a replica when one is configured and current (scale-out),
    else the primary, the same choice the metric routes make."""
    read_side = request.app.state.get("read_side")
    if read_side is None:
        return request.app.state.pool
    return await read_side.pool_for("cases", None)


def _sign_in_page(request: Request, error: str | None, status: int) -> Template:
    return Template("sign_in.html", context={"error": error, "page_title": "Sign in"},
                    status_code=status)


def _too_many_attempts(request: Request, wait: float) -> Template:
    return Template("sign_in.html", status_code=429,
                    context={"error": "Too many failed sign-ins from here; try again later.",
                             "page_title": "Sign in"},
                    headers={"Retry-After": retry_after(wait)})


class DashboardController(Controller):
    """The built-in dashboard (HTML; not part of the JSON API)."""

    path = PATH
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(self, request: Request) -> Template:
        return _sign_in_page(request, None, 200)

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Request, data: Form) -> Response[Any]:
        if not _same_origin(request):
            return _sign_in_page(request, "Sign-in must come from this site.", 403)
        presented = str(data.get("api_key", "")).strip()
        # Failed sign-ins count against the client's allowance of failed key checks, as
        # on the API: guessing keys here is no way around that limit.
        cache = request.app.state.key_cache
        client, now = client_of(request.scope), time.monotonic()
        blocked = cache.failures.wait(client, now)
        if blocked > 0:
            return _too_many_attempts(request, blocked)
        key = await find_key(request.app.state.pool, cache.secret,
                             presented) if presented else None
        if key is None or key.revoked_at is not None:
            blocked = cache.failures.fail(client, now)
            if blocked > 0:
                return _too_many_attempts(request, blocked)
            return _sign_in_page(request, "That API key is unknown or revoked.", 401)
        if key.role not in ROLES:
            return _sign_in_page(request, f"A key of role {key.role} cannot open the dashboard "
                                 "(analyst, supervisor, auditor or admin can).", 403)
        value, _ = _signer(request).issue(key.key_id, key.tenant_id, str(key.role))
        return Redirect(PATH, status_code=303,
                        cookies=[_cookie(request, value, LIFETIME_SECONDS)])

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Request, data: Form) -> Response[Any]:
        session = _signer(request).read(request.cookies.get(COOKIE))
        if session is None or not _same_origin(request) or not csrf_matches(
                session, data.get("csrf")):
            return Response("sign-out refused: stale page or another site's form",
                            status_code=403, media_type="text/plain")
        return Redirect(f"{PATH}/sign-in", status_code=303, cookies=[_cookie(request, "", 0)])

    @get("/")
    async def overview(self, request: Request) -> Response[Any]:
        return await self._render(request, "overview")

    @get("/{page:str}")
    async def page(self, request: Request, page: FromPath[str]) -> Response[Any]:
        return await self._render(request, page)

    async def _render(self, request: Request, slug: str) -> Response[Any]:
        session = await _session(request)
        if session is None:
            return Redirect(f"{PATH}/sign-in", status_code=303)
        build = pages.BUILDERS.get(slug)
        if build is None:
            return Response("no such dashboard page", status_code=404, media_type="text/plain")
        query = request.query_params
        values = {name: query.get(name) or "" for name in ("from", "to", "month")}
        try:
            filters = pages.Filters(instant(values["from"], "from"), instant(values["to"], "to"),
                                    values["month"] or None, session.role)
            if filters.start and filters.end and filters.end <= filters.start:
                raise ProblemError(422, "invalid_request", "to: must be after from")
            page = await build(await _read_pool(request), session.tenant_id, filters,
                               pages.utc_now())
        except ProblemError as error:
            return Template("page.html", context=self._context(
                request, session, pages.Page(slug, "Check the filters", [], filters="period"),
                values, error.detail), status_code=422)
        wanted = query.get("csv")
        if wanted:
            table = page.table(wanted)
            if table is None:
                return Response("no such table on this page", status_code=404,
                                media_type="text/plain")
            return csv_response(table.csv(), f"{slug}-{wanted}.csv")
        values.update(page.values)
        return Template("page.html", context=self._context(request, session, page, values, None))

    @staticmethod
    def _context(request: Request, session: Session, page: pages.Page, values: dict[str, str],
                 error: str | None) -> dict[str, Any]:
        query = urlencode({k: v for k, v in values.items() if v})
        return {"page": page, "session": session, "values": values, "error": error,
                "navigation": pages.NAVIGATION, "display": display, "raw": raw,
                "csv_query": (query + "&" if query else ""), "page_title": page.title,
                "base": PATH}
