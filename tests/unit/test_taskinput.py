"""The pure checks of task creation and the idempotency namespaces."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from scheduler import idempotency, taskinput

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("ok", None), ("nul\x00", "NUL"), ("\udfff", "surrogate"), ("é 🎬", None)],
)
def test_bad_text_names_what_cannot_be_stored(text, reason):
    found = taskinput.bad_text(text)
    assert (found is None) if reason is None else (reason in found)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": {"b": ["x", "\udfff"]}}, "payload.a.b[1]"),
        ({"\x00": 1}, "payload"),
        ({"n": float("nan")}, "payload.n"),
        ({"n": 2**60}, "payload.n"),
    ],
)
def test_check_json_names_the_path_of_the_bad_value(value, field):
    with pytest.raises(ValidationError) as error:
        taskinput.check_json("payload", value)
    assert field in error.value.message_dict


def test_check_json_bounds_nesting_at_the_root():
    deep: list = []
    for _ in range(taskinput.MAX_PAYLOAD_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValidationError) as error:
        taskinput.check_json("payload", {"d": deep})
    assert "payload" in error.value.message_dict


@pytest.mark.parametrize(
    "when",
    [
        datetime(1999, 12, 31, tzinfo=UTC),
        NOW + timedelta(days=3654),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_times_outside_sane_years_are_refused(when):
    with pytest.raises(ValidationError):
        taskinput.check_when("scheduledFor", when, now=NOW)


def test_dependencies_are_bounded_ids():
    assert taskinput.check_dependencies(["3", 1, 3]) == [1, 3]
    for bad in ([0], [2**63], ["x"], list(range(1, 102))):
        with pytest.raises(ValidationError):
            taskinput.check_dependencies(bad)


def test_client_keys_live_in_their_owners_namespace():
    stored = idempotency.client_key(owner="user:5", key="alert:1")
    assert stored == "client:user:5/alert:1"
    assert not stored.startswith("alert:")
    assert idempotency.public_key(stored) == "alert:1"
    assert idempotency.public_key("alert:1") == "alert:1"


def test_the_body_hash_is_canonical_and_ignores_the_key():
    one = idempotency.body_hash({"type": "dm", "payload": {"a": 1, "b": 2}, "idempotencyKey": "k"})
    two = idempotency.body_hash({"payload": {"b": 2, "a": 1}, "type": "dm"})
    assert one == two
    assert one != idempotency.body_hash({"type": "dm", "payload": {"a": 1, "b": 3}})
