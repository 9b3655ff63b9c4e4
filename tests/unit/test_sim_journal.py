"""A simulator with a journal (SIM_JOURNAL_DIR) keeps its deliveries across a restart, as the
platform keeps the messages when only the service process dies (the chaos suite's
"simulator-drop" counts duplicates across one); `/_sim/reset` empties it."""

from __future__ import annotations

import requests

from dm.simulator import SimServer, TwitterDMSim


def _send(url: str, username: str) -> None:
    answer = requests.post(
        f"{url}/api/twitter/messages/send-to", json={"username": username, "text": "hi"}, timeout=5
    )
    assert answer.ok, answer.text


def _sent(url: str) -> list[str]:
    return [d["username"] for d in requests.get(f"{url}/_sim/sent", timeout=5).json()]


def _thread(url: str, username: str) -> list[str]:
    requests.post(
        f"{url}/api/twitter/conversations/open", json={"username": username}, timeout=5
    ).raise_for_status()
    answer = requests.get(f"{url}/api/twitter/messages", timeout=5).json()
    return [m["text"] for m in answer.get("messages", [])]


def test_a_restarted_simulator_still_shows_what_it_delivered(settings, tmp_path):
    settings.SIM_JOURNAL_DIR = str(tmp_path)
    first = SimServer(TwitterDMSim(profile="kind"), port=0).start()
    try:
        _send(first.url, "ada")
        _send(first.url, "ada")
    finally:
        first.stop()
    again = SimServer(TwitterDMSim(profile="kind"), port=0).start()
    try:
        assert _sent(again.url) == ["ada", "ada"]  # a duplicate stays countable
        assert _thread(again.url, "ada") == ["hi", "hi"]  # and the thread shows it
        requests.post(f"{again.url}/_sim/reset", timeout=5).raise_for_status()
        assert _sent(again.url) == []
    finally:
        again.stop()
    fresh = SimServer(TwitterDMSim(profile="kind"), port=0).start()
    try:
        assert _sent(fresh.url) == []
    finally:
        fresh.stop()


def test_without_a_journal_a_restart_forgets(settings):
    settings.SIM_JOURNAL_DIR = ""
    first = SimServer(TwitterDMSim(profile="kind"), port=0).start()
    try:
        _send(first.url, "ada")
    finally:
        first.stop()
    again = SimServer(TwitterDMSim(profile="kind"), port=0).start()
    try:
        assert _sent(again.url) == []
    finally:
        again.stop()
