"""The activity feed's sentences (dashboard.activity.describe)."""

import re
from pathlib import Path

from dashboard.activity import BOOKKEEPING, describe


def test_sends_read_like_the_prd():
    data = {"platform": "tiktok", "action": "dm", "recipient": "creator"}
    assert describe("send.sent", data=data) == "Sent DM to @creator on TikTok"
    comment = {"platform": "threads", "action": "comment", "recipient": "https://t/p/1"}
    assert describe("send.sent", data=comment) == "Posted a comment on Threads (https://t/p/1)"
    failed = describe("send.failed", data={**data, "platform": "twitter"}, message="User not found")
    assert failed == "DM to @creator on X failed: User not found"


def test_tasks_say_what_finished_and_syncs_say_how_many():
    assert (
        describe("task.completed", task={"name": "Way of Dragon finale", "type": "sora"})
        == "Completed: Way of Dragon finale"
    )
    sync = {"type": "sync", "platform": "instagram", "result": {"conversations": 12}}
    assert describe("task.completed", task=sync) == "Synced 12 Instagram conversations"
    assert describe("task.blocked", task={"name": "DM"}, message="outcome unknown") == (
        "Needs you: DM — outcome unknown"
    )


def test_replies_show_who_and_what():
    text = describe(
        "dm.reply_received", data={"platform": "twitter", "username": "maya", "text": "hi"}
    )
    assert text == "@maya replied on X: “hi”"


def test_bookkeeping_has_no_sentence_and_odd_data_never_breaks_it():
    for kind in ("task.claimed", "task.started", "task.progress", "send.attempting", "bench.ping"):
        assert describe(kind) == ""
    assert describe("platform.paused", data={"platform": "tiktok", "{x}": 1}, message="why") == (
        "TikTok paused: why"
    )
    assert describe("task.completed", task={"name": "n", "type": "sync", "result": "x"}) == (
        "Completed: n"
    )


def test_hosts_and_sora_read_as_sentences():
    offline = "host laptop offline since 10:02:03: its workers stopped beating"
    assert describe("host.offline", message=offline) == (
        "Host laptop offline since 10:02:03: its workers stopped beating"
    )
    assert describe("host.online", message="host studio: 2 workers started on mini") == (
        "Host studio: 2 workers started on mini"
    )
    assert describe("host.stopped") == "Host stopped"
    assert describe("sora.credits_checked", message="Sora credits: 40 remaining") == (
        "Sora credits: 40 remaining"
    )
    failed = describe("sora.video_failed", data={"videoId": 7}, message="generation failed: x")
    assert failed == "Sora video #7 generation failed: x"
    assert describe("sora.video_decided", message="decided 'generated'") == (
        "Sora video #? decided 'generated'"  # a field the data lacks never breaks the line
    )


def test_every_sora_and_host_event_the_code_records_has_a_sentence():
    """A new `sora.*` or `host.*` event kind gets a sentence (or is named bookkeeping), so the
    live feed never hides it behind the details toggle."""
    root = Path(__file__).resolve().parents[2]
    recorded = re.compile(r"(?:record|event)\(\s*\"((?:sora|host)\.\w+)\"")
    kinds = {
        kind
        for app in ("scheduler", "sora", "dm", "crm", "dashboard", "safari_auto")
        for path in (root / app).rglob("*.py")
        for kind in recorded.findall(path.read_text())
    }
    assert {"host.offline", "host.online", "sora.video_failed"} <= kinds, kinds
    silent = {k for k in kinds if not describe(k, message="m") and k not in BOOKKEEPING}
    assert not silent, f"no feed sentence for {sorted(silent)}"
