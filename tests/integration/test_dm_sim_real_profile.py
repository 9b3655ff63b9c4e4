"""The DM simulators' `real` profile behaves as CONTRACTS.md "How the real services behave"
says, over HTTP, and our clients read those answers as the real services mean them."""

import threading
import time

import pytest
import requests

from dm.clients import InstagramDMClient, TikTokDMClient, TwitterDMClient
from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterDMSim
from tests.sim_fixtures import overlaps, running, sent, set_faults


@pytest.fixture
def tiktok():
    with running(TikTokDMSim(duration_scale=50)) as server:  # a send lasts 0.7 s
        yield server


def _send_in_background(url: str, username: str) -> threading.Thread:
    thread = threading.Thread(
        target=requests.post,
        args=(f"{url}/api/tiktok/messages/send-to",),
        kwargs={"json": {"username": username, "text": "typing..."}, "timeout": 10},
    )
    thread.start()
    time.sleep(0.2)
    return thread


def test_a_tiktok_send_holds_the_tab_a_second_send_is_refused_in_flight(tiktok):
    thread = _send_in_background(tiktok.url, "first_one")
    result = TikTokDMClient(tiktok.url).send("second_one", "me too")
    thread.join()
    assert result.outcome == "failed"
    assert result.retryable is True  # nothing was sent: not a limit, not a cooldown
    assert "busy" in result.reason
    assert [d["username"] for d in sent(tiktok)] == ["first_one"]


def test_a_read_during_a_send_interleaves_and_status_waits_for_the_tab(tiktok):
    thread = _send_in_background(tiktok.url, "typing_to")
    client = TikTokDMClient(tiktok.url)
    assert client.messages("someone_else") == []  # the tab shows the send's thread, unsent
    started = time.monotonic()
    client.status()
    assert time.monotonic() - started > 0.2  # answered only once the send let go of the tab
    thread.join()
    assert [o["path"] for o in overlaps(tiktok)] == ["/api/tiktok/messages"]


def test_tiktok_messages_carry_the_read_time_and_positional_ids(tiktok):
    client = TikTokDMClient(tiktok.url)
    assert client.send("pos_paul", "first").sent
    before = time.time()
    [message] = client.messages("pos_paul")
    assert message["id"] == "msg-0"
    assert message["sent_at"] is not None
    assert message["sent_at"].timestamp() >= before - 0.01  # the read, not the send


def test_tiktok_captcha_and_429s_without_a_retry_time(tiktok):
    set_faults(tiktok, challenge=1)
    captcha = TikTokDMClient(tiktok.url).send("c_user", "hi")
    assert (captcha.outcome, captcha.retryable) == ("needs_human", False)
    set_faults(tiktok, status_429=1, retry_after_s=60)
    answer = requests.post(
        f"{tiktok.url}/api/tiktok/messages/send-to", json={"username": "l", "text": "x"}, timeout=5
    )
    assert answer.status_code == 429
    assert "Retry-After" not in answer.headers
    assert set(answer.json()) == {"success", "error", "rateLimits"}


def test_x_reads_never_work_and_its_429_has_no_retry_time():
    with running(TwitterDMSim()) as server:
        client = TwitterDMClient(server.url)
        assert client.send("maya_builds", "hi Maya").verified is True
        assert client.thread_read("maya_builds") is None  # open answered 200 success:false
        assert client.messages("maya_builds") == []
        set_faults(server, status_429=1)
        limited = client.send("other", "hi")
        assert (limited.outcome, limited.retry_after) == ("limited", None)


def test_instagram_unknown_conversation_never_reads_the_open_thread():
    with running(InstagramDMSim()) as server:
        client = InstagramDMClient(server.url)
        assert client.send("leo_creates", "hey Leo").sent
        assert [m["text"] for m in client.messages("leo_creates")] == ["hey Leo"]
        assert client.thread_read("nobody_here") is None
        assert client.messages("nobody_here") == []  # not Leo's thread, still open in the tab
        [message] = client.messages("leo_creates")
        assert message["sent_at"] is None  # "" or "2h": never a time to trust


def test_simulate_takes_a_profile(settings):
    from dm.simulator import build_servers

    [kind] = build_servers(port_offset=0, only=["instagram_dm"], profile="kind")
    [real] = build_servers(port_offset=0, only=["instagram_dm"])
    assert (kind.service.profile, real.service.profile) == ("kind", "real")
