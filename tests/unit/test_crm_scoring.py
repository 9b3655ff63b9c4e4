"""The relationship score, its track and next action: pure, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from crm.scoring import (
    ScoreInputs,
    Track,
    message_resonance,
    next_action,
    recency_points,
    relationship_score,
    relationship_track,
    resonance_points,
    score_factors,
)
from crm.text import normalise_text, template_render, template_text, template_variables, text_key

BLANK = ScoreInputs(
    days_since_last_message=None,
    messages_total=0,
    messages_inbound=0,
    resonance_average=None,
    what_theyre_building=False,
    current_friction=False,
    definition_of_win=False,
    fit_signals=False,
    value_delivered_count=0,
    promises_made=0,
    promises_kept=0,
    asks_opinion=False,
    shares_updates=False,
    has_referred_others=False,
)


def test_a_stranger_scores_the_weighted_defaults():
    # recency 20, resonance 30, clarity 20, value 20, reliability 50, consent 30
    expected = 0.2 * 20 + 0.2 * 30 + 0.15 * 20 + 0.2 * 20 + 0.15 * 50 + 0.1 * 30
    assert relationship_score(BLANK) == round(expected) == 28


def test_a_close_relationship_scores_near_the_top():
    close = replace(
        BLANK,
        days_since_last_message=1,
        messages_total=40,
        messages_inbound=20,
        resonance_average=100,
        what_theyre_building=True,
        current_friction=True,
        definition_of_win=True,
        fit_signals=True,
        value_delivered_count=5,
        promises_made=4,
        promises_kept=4,
        asks_opinion=True,
        shares_updates=True,
        has_referred_others=True,
    )
    assert score_factors(close) == {
        "recency": 100,
        "resonance": 100,
        "need_clarity": 100,
        "value_delivered": 90,
        "reliability": 100,
        "consent": 100,
    }
    assert relationship_score(close) == 98


@pytest.mark.parametrize(
    ("days", "points"),
    [(None, 20), (0, 100), (3, 100), (3.5, 85), (7, 85), (14, 70), (30, 50), (60, 30), (61, 10)],
)
def test_recency_falls_with_days_since_the_last_message(days, points):
    assert recency_points(days) == points


def test_resonance_without_messages_or_without_replies():
    assert resonance_points(messages_total=0, messages_inbound=0, average=None) == 30
    assert resonance_points(messages_total=3, messages_inbound=0, average=None) == 20
    assert resonance_points(messages_total=3, messages_inbound=2, average=57.5) == 58


def test_a_long_personal_grateful_question_resonates_fully():
    assert message_resonance("ok") == 30
    assert message_resonance("what app?") == 45
    assert message_resonance("thanks") == 40
    assert message_resonance("my studio") == 45
    long_text = "Honestly my journey has been hard. " * 7 + "Thanks, how did you start?"
    assert len(long_text) > 200
    assert message_resonance(long_text) == 100


def test_value_reliability_and_consent_steps():
    assert [relationship_score(replace(BLANK, value_delivered_count=n)) for n in (0, 1, 2, 3)] == [
        28,
        34,
        38,
        42,
    ]
    half = replace(BLANK, promises_made=4, promises_kept=2)
    assert score_factors(half)["reliability"] == 50
    assert score_factors(replace(BLANK, promises_made=2, promises_kept=0))["reliability"] == 0
    consent = replace(BLANK, asks_opinion=True, has_referred_others=True)
    assert score_factors(consent)["consent"] == 75
    clarity = replace(BLANK, what_theyre_building=True, definition_of_win=True)
    assert score_factors(clarity)["need_clarity"] == 65


@pytest.mark.parametrize(
    ("stage", "score", "days", "track"),
    [
        ("first_touch", 20, None, Track.FRIENDSHIP),
        ("context_captured", 50, 2, Track.FRIENDSHIP),
        ("micro_win_delivered", 50, 2, Track.SERVICE),
        ("trust_signals", 60, 2, Track.SERVICE),
        ("fit_repeats", 75, 2, Track.OFFER),
        ("permissioned_offer", 60, 2, Track.OFFER),
        ("post_win_expansion", 80, 2, Track.RETENTION),
        ("cadence_established", 80, 45, Track.REWARM),
        ("fit_repeats", 20, 1, Track.REWARM),
    ],
)
def test_the_track_follows_stage_and_score(stage, score, days, track):
    assert relationship_track(stage=stage, score=score, days_since_last_message=days) is track


def test_next_action_suggests_rewarming_a_cold_contact_and_waiting_for_trust():
    assert "Re-warm" in next_action(stage="trust_signals", score=80, days_since_last_message=90)
    assert "70" in next_action(stage="trust_signals", score=50, days_since_last_message=1)
    assert "building" in next_action(stage="first_touch", score=20, days_since_last_message=None)


def test_message_identity_ignores_case_and_spacing():
    assert normalise_text("  Hello   THERE ") == "hello there"
    assert text_key("Hello there") == text_key("hello  there ")
    assert text_key("hello") != text_key("hello!")


def test_templates_fill_variables_and_keep_unknown_ones_visible():
    variables = template_variables(display_name="Ana Garcia", username="ana.g", platform="tiktok")
    text = template_render("Hi {first_name} (@{username}) on {platform} {oops}", variables)
    assert text == "Hi Ana (@ana.g) on tiktok {oops}"
    assert template_variables(display_name="", username="x", platform="x")["first_name"] == "x"
    assert template_text({"text": "a"}) == "a"
    assert template_text({"nothing": 1}) == ""
    assert template_text(3) == ""
