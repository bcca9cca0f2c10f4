"""Dashboard session cookies: signed, expiring, tamper-evident, with a CSRF token."""

from __future__ import annotations

from ledger.api.dashboard.session import LIFETIME_SECONDS, SessionSigner, csrf_matches


def test_a_session_reads_back_until_it_expires():
    signer = SessionSigner(b"secret-one")
    value, session = signer.issue("k1", "bank-a", "analyst", now=1000.0)
    assert signer.read(value, now=1000.0 + LIFETIME_SECONDS - 1) == session
    assert signer.read(value, now=1000.0 + LIFETIME_SECONDS) is None


def test_a_cookie_changed_in_any_way_or_signed_by_another_server_is_refused():
    signer = SessionSigner(b"secret-one")
    value, _ = signer.issue("k1", "bank-a", "analyst", now=1000.0)
    body, signature = value.split(".")
    forged_body = SessionSigner(b"secret-two").issue("k1", "bank-b", "admin", now=1000.0)[0]
    for bad in (None, "", "x", body, f"{body}.", f"{body}.{signature[:-2]}AA",
                f"{forged_body.split('.')[0]}.{signature}", forged_body, "a.b.c", "!!.??"):
        assert signer.read(bad, now=1000.0) is None, bad


def test_the_csrf_token_must_match_exactly():
    _, session = SessionSigner(b"s").issue("k1", "t", "admin")
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, None) and not csrf_matches(session, "")
    assert not csrf_matches(session, session.csrf + "x")
