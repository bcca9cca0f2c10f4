"""Pure webhook rules: retry schedule, URL and address refusals, secret overlap, payload scrub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from case_builders import place

from ledger.domain.errors import InvalidRequest
from ledger.domain.webhooks.endpoint import EndpointDeleted, WebhookEndpoint
from ledger.domain.webhooks.rules import (
    RETRY_EVERY_AFTER,
    UrlRefused,
    address_refusal,
    failing_too_long,
    parse_endpoint_url,
    refused_addresses,
    retry_delay,
)
from ledger.eventstore import EventCodec, StoredEventRow
from ledger.webhooks.payload import build_body, scrub
from ledger.webhooks.queues import Delivery, ShardQueues

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@given(st.lists(st.floats(0, 1, exclude_max=True), min_size=40, max_size=40))
def test_retries_back_off_and_keep_going_for_at_least_24_hours(draws: list[float]) -> None:
    delays = [retry_delay(n, draw) for n, draw in enumerate(draws, 1)]
    nominal = [retry_delay(n, 0.5) for n in range(1, 41)]
    assert nominal[:7] == [timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2),
                           timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1),
                           RETRY_EVERY_AFTER]
    assert all(a <= b for a, b in zip(nominal, nominal[1:]))
    for delay, base in zip(delays, nominal):
        assert base * 0.8 <= delay <= base * 1.2  # jitter stays within ±20 %
    assert sum(delays[:25], timedelta()) >= timedelta(hours=24)  # and on, until 3 days disable


@given(st.ip_addresses())
def test_only_global_unicast_addresses_may_be_called(ip: Any) -> None:
    if address_refusal(str(ip)) is None:
        assert ip.is_global and not ip.is_multicast and not ip.is_loopback
        assert not ip.is_private and not ip.is_link_local
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast:
        assert address_refusal(str(ip)) is not None


@pytest.mark.parametrize(("address", "why"), [
    ("10.0.0.5", "private"), ("127.0.0.1", "loopback"), ("::1", "loopback"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("224.0.0.1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"), ("192.168.1.1", "private"), ("0.0.0.0", "reserved"),
    # IPv4 inside IPv6: 6to4 (2002:AABB:CCDD::), Teredo (client XOR-ed), NAT64; site-local
    ("2002:7f00:1::", "loopback"), ("2002:a9fe:a9fe::", "link-local"), ("2002:a00:1::", "private"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"), ("64:ff9b::a9fe:a9fe", "link-local"),
    ("fec0::1", "private"),
])
def test_internal_addresses_are_refused_with_the_reason(address: str, why: str) -> None:
    assert address_refusal(address) == why
    assert refused_addresses("hooks.example", [address], frozenset())
    assert not refused_addresses("hooks.example", [address], frozenset({"hooks.example"}))


@pytest.mark.parametrize("url", [
    "http://bank.example/h", "ftp://bank.example/h", "https://u:p@bank.example/h",
    "https://bank.example/h#frag", "https:///h", "https://bank.example/a b", "not a url",
    "https://bank.example:99999/h",
])
def test_malformed_or_plain_http_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused):
        parse_endpoint_url(url, frozenset())


def test_plain_http_is_allowed_only_to_allow_listed_hosts() -> None:
    assert parse_endpoint_url("http://127.0.0.1:9/h", {"127.0.0.1"}) == ("http", "127.0.0.1", 9)
    assert parse_endpoint_url("https://Bank.Example/h", set()) == ("https", "bank.example", 443)


def _endpoint() -> WebhookEndpoint:
    return WebhookEndpoint.register(
        endpoint_id=uuid4(), tenant_id="t", url="https://bank.example/h",
        event_types=["PaymentReceived"], description=None, secret_id=uuid4(),
        known_types={"PaymentReceived", "Placed"}, allow_hosts=(), now=NOW)


def test_a_rotated_out_secret_signs_for_24_hours_then_stops() -> None:
    endpoint = _endpoint()
    old = endpoint.signing_secret_ids(NOW)
    new = uuid4()
    endpoint.rotate_secret(new, NOW)
    assert endpoint.signing_secret_ids(NOW + timedelta(hours=23)) == [new, *old]
    assert endpoint.signing_secret_ids(NOW + timedelta(hours=24, seconds=1)) == [new]
    newer = uuid4()
    endpoint.rotate_secret(newer, NOW + timedelta(hours=30))
    assert endpoint.signing_secret_ids(NOW + timedelta(hours=31)) == [newer, new]


def test_endpoint_commands_validate_and_record_only_changes() -> None:
    endpoint = _endpoint()
    endpoint.collect_events()
    endpoint.change(now=NOW, event_types=["PaymentReceived"], enabled=True,
                    known_types={"PaymentReceived"})
    assert not endpoint.pending_events
    with pytest.raises(InvalidRequest):
        endpoint.change(now=NOW, event_types=["Nope"], known_types={"PaymentReceived"})
    with pytest.raises(InvalidRequest):
        endpoint.change(now=NOW, url="http://bank.example/h")
    assert not endpoint.pending_events, "a refused change records nothing"
    endpoint.disable("gone", NOW)
    assert not endpoint.wants("PaymentReceived") and endpoint.disabled_reason == "gone"
    endpoint.delete(NOW)
    with pytest.raises(EndpointDeleted):
        endpoint.rotate_secret(uuid4(), NOW)


def test_three_days_of_failures_disable() -> None:
    assert not failing_too_long(None, NOW)
    assert not failing_too_long(NOW - timedelta(days=2, hours=23), NOW)
    assert failing_too_long(NOW - timedelta(days=3), NOW)


personal_keys = st.sampled_from(["debtor", "name", "phones", "emails", "address", "note",
                                 "text", "to", "from", "body", "subject"])
json_leaf = st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none())


@given(st.recursive(
    st.dictionaries(st.one_of(personal_keys, st.sampled_from(["amount", "currency", "id"])),
                    json_leaf, max_size=4),
    lambda inner: st.dictionaries(st.one_of(personal_keys, st.text(max_size=6)),
                                  st.one_of(inner, st.lists(inner, max_size=3)), max_size=4),
    max_leaves=20))
def test_no_personal_or_free_text_field_survives_the_scrub_at_any_depth(doc: dict) -> None:
    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()
    assert not keys(scrub(doc)) & {"debtor", "name", "phones", "emails", "address", "note",
                                   "text", "to", "from", "body", "subject"}


def test_queues_keep_one_case_in_order_and_let_other_cases_pass_a_failing_head() -> None:
    queues = ShardQueues()
    endpoint, slow, fast = uuid4(), uuid4(), uuid4()
    for seq, case in enumerate([slow, slow, fast]):
        queues.add(Delivery(uuid4(), f"msg_{seq}", endpoint, case, seq, 0, NOW, b"{}"), 0.0)
    first = queues.pop_due(0.0)
    second = queues.pop_due(0.0)
    assert {first, second} == {(endpoint, slow), (endpoint, fast)}
    assert queues.pop_due(0.0) is None, "a case's second event waits for its first"
    queues.retry((endpoint, slow), 10.0)
    queues.done((endpoint, fast), 0.0)
    assert queues.pop_due(5.0) is None
    assert queues.pop_due(10.0) == (endpoint, slow)
    assert queues.head((endpoint, slow)).seq == 0
    queues.done((endpoint, slow), 10.0)
    assert queues.pop_due(10.0) == (endpoint, slow)
    assert queues.head((endpoint, slow)).seq == 1


def test_a_placement_delivery_carries_the_placements_fields_and_no_framework_bookkeeping() -> None:
    # Found by a black-box audit: ``originator_topic`` (the aggregate's class path, stored by
    # the event framework with a created aggregate) reached the receivers; the feed hides it.
    stored = EventCodec().encode(place().collect_events()[0])
    row = StoredEventRow(stored.originator_id, 1, stored.topic, stored.state, 1, 1,
                         datetime.now(UTC), "bank-1", None, None, None, b"")
    body = msgspec.json.decode(build_body(row, "CC-000123"))
    assert body["type"] == "Placed" and body["data"]["principal"] == 250000
    assert "originator_topic" not in body["data"] and "debtor" not in body["data"]
