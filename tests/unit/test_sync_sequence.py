"""Messages without usable times or ids are matched by content and order (crm/sequence.py),
and shown names are read for the status and identity rules (pure)."""

from crm.sequence import align
from crm.text import handle_candidates, name_letters
from dm.session import session_of
from dm.syncing import spellings


def test_the_same_window_read_again_is_all_known():
    stored = ["a", "b", "c"]
    assert align(stored, ["a", "b", "c"]) == [0, 1, 2]


def test_messages_appended_since_the_last_read_are_new_even_when_they_repeat_a_text():
    assert align(["hi", "ok"], ["hi", "ok", "ok"]) == [0, 1, None]
    assert align(["a", "a"], ["a", "a", "a"]) == [0, 1, None]


def test_a_window_that_scrolled_past_the_oldest_messages_lines_up_with_the_end():
    stored = ["x", "y", "hi", "there"]
    assert align(stored, ["hi", "there", "new"]) == [2, 3, None]


def test_a_logged_send_the_service_does_not_show_yet_stores_nothing_again():
    stored = [("in", "hi"), ("out", "hello")]
    assert align(stored, [("in", "hi")]) == [0]


def test_a_first_read_after_a_logged_send_keeps_the_send_and_adds_the_earlier_message():
    stored = [("out", "hello")]
    assert align(stored, [("in", "hi"), ("out", "hello")]) == [None, 0]


def test_nothing_stored_means_everything_is_new():
    assert align([], ["a", "b"]) == [None, None]


def test_shown_names_spell_the_handles_they_stand_for():
    assert name_letters("Maya Builds") == name_letters("@maya_builds") == "mayabuilds"
    assert {"maya_builds", "mayabuilds", "maya.builds"} <= handle_candidates("Maya Builds")
    assert "leo.creates" in spellings("Leo.Creates")
    assert "maya_builds" in spellings("Maya Builds")


def _status(logged_in, on_platform, url):
    return {"logged_in": logged_in, "on_platform": on_platform, "current_url": url}


def test_logged_out_needs_the_platforms_own_site_in_front():
    assert session_of(_status(False, True, "https://x.com/i/flow/login"), "twitter") == (
        "logged_out"
    )
    assert session_of(_status(False, False, "https://www.tiktok.com/messages"), "twitter") == (
        "unknown"
    )
    # a comment service whose isOn… is read from the URL: another site in front is unknown
    assert session_of(_status(False, True, "https://www.tiktok.com/"), "threads") == "unknown"
    assert session_of(_status(True, False, ""), "instagram") == "logged_in"
