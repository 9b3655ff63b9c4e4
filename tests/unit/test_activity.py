"""The activity feed's sentences (dashboard.activity.describe)."""

from dashboard.activity import describe


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
