"""Standard Webhooks signing: what the ``standardwebhooks`` receiver accepts and refuses."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ledger.webhooks.signing import (
    is_secret,
    new_secret,
    sign,
    signature_headers,
    verify,
)

BODY = b'{"id":"evt_1","type":"PaymentReceived","data":{"amount":1250}}'


def test_a_new_secret_has_the_whsec_shape_and_is_random() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and is_secret(first)
    assert first != second
    assert not is_secret("whsec_") and not is_secret("secret") and not is_secret("whsec_!!")


def test_the_package_receiver_accepts_a_message_signed_now() -> None:
    secret = new_secret()
    headers = signature_headers("msg_1", BODY, [secret])
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == {
        "id": "evt_1", "type": "PaymentReceived", "data": {"amount": 1250}}


def test_a_tampered_body_another_secret_or_an_old_timestamp_is_refused() -> None:
    secret = new_secret()
    headers = signature_headers("msg_1", BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        verify(BODY.replace(b"1250", b"9250"), headers, secret)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, new_secret())
    stale = signature_headers("msg_1", BODY, [secret],
                              at=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookVerificationError):
        verify(BODY, stale, secret)


def test_during_rotation_two_v1_signatures_are_sent_and_either_secret_verifies() -> None:
    old, new = new_secret(), new_secret()
    headers = signature_headers("msg_2", BODY, [new, old])
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify(BODY, headers, new)
    verify(BODY, headers, old)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, headers, new_secret())


def test_an_offset_time_signs_the_same_instant_as_utc() -> None:
    secret = new_secret()
    instant = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    shifted = instant.astimezone(timezone(timedelta(hours=-5)))
    assert sign("m", BODY, [secret], at=instant) == sign("m", BODY, [secret], at=shifted)
    assert signature_headers("m", BODY, [secret], at=shifted)["webhook-timestamp"] == str(
        int(instant.timestamp()))
    with pytest.raises(ValueError):
        sign("m", BODY, [secret], at=datetime(2026, 12, 1, 12, 0))
    with pytest.raises(ValueError):
        sign("m", BODY, [], at=instant)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: " " not in s and "." not in s),
       st.binary(max_size=300).map(lambda b: b.hex().encode()))
def test_any_id_and_body_round_trip_through_the_package_receiver(message_id: str,
                                                                 body: bytes) -> None:
    secret = new_secret()
    verify(body, signature_headers(message_id, body, [secret]), secret)
