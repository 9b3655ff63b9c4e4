"""The relationship score, its track and the next action: pure functions, no ORM, no clock.

Score (0-100) = recency .20 + resonance .20 + need clarity .15 + value delivered .20
+ reliability .15 + consent .10 (CONTRACTS.md, "Our CRM API").

Resonance is the average, over inbound messages, of `message_resonance(text)`:
base 30, +20 over 100 characters, +10 more over 200, +15 for a question, +15 for personal
words, +10 for positive words, capped at 100. No messages at all → 30; none inbound → 20.

The word lists are ours to choose. A word counts when it appears as a whole word,
ignoring case:

- PERSONAL_WORDS: people sharing their own life or work — "i", "my", "me", "i'm", "we",
  "our", "family", "kids", "wife", "husband", "partner", "mom", "dad", "friend", "feel",
  "felt", "honestly", "struggle", "struggling", "dream", "goal", "building", "journey",
  "personally", "life", "story".
- POSITIVE_WORDS: warmth or appreciation — "thanks", "thank", "love", "great", "awesome",
  "amazing", "appreciate", "helpful", "excited", "glad", "happy", "nice", "cool", "perfect",
  "brilliant", "fantastic", "wow", "yes", "agree", "inspiring".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

PERSONAL_WORDS = frozenset(
    [
        "i",
        "my",
        "me",
        "i'm",
        "im",
        "we",
        "our",
        "family",
        "kids",
        "wife",
        "husband",
        "partner",
        "mom",
        "dad",
        "friend",
        "feel",
        "felt",
        "honestly",
        "struggle",
        "struggling",
        "dream",
        "goal",
        "building",
        "journey",
        "personally",
        "life",
        "story",
    ]
)
POSITIVE_WORDS = frozenset(
    [
        "thanks",
        "thank",
        "love",
        "great",
        "awesome",
        "amazing",
        "appreciate",
        "helpful",
        "excited",
        "glad",
        "happy",
        "nice",
        "cool",
        "perfect",
        "brilliant",
        "fantastic",
        "wow",
        "yes",
        "agree",
        "inspiring",
    ]
)
WEIGHTS = {
    "recency": 0.20,
    "resonance": 0.20,
    "need_clarity": 0.15,
    "value_delivered": 0.20,
    "reliability": 0.15,
    "consent": 0.10,
}
_WORD = re.compile(r"[a-z']+")

STAGE_ORDER = (
    "first_touch",
    "context_captured",
    "micro_win_delivered",
    "cadence_established",
    "trust_signals",
    "fit_repeats",
    "permissioned_offer",
    "post_win_expansion",
)


class Track(StrEnum):
    """Where a relationship is heading. (The scheduler says "lane"; we say "track".)"""

    FRIENDSHIP = "friendship"
    SERVICE = "service"
    OFFER = "offer"
    RETENTION = "retention"
    REWARM = "rewarm"


@dataclass(frozen=True)
class ScoreInputs:
    days_since_last_message: float | None
    messages_total: int
    messages_inbound: int
    resonance_average: float | None
    what_theyre_building: bool
    current_friction: bool
    definition_of_win: bool
    fit_signals: bool
    value_delivered_count: int
    promises_made: int
    promises_kept: int
    asks_opinion: bool
    shares_updates: bool
    has_referred_others: bool


def message_resonance(text: str) -> int:
    """How much one inbound message resonates (0-100)."""
    points = 30
    if len(text) > 100:
        points += 20
    if len(text) > 200:
        points += 10
    if "?" in text:
        points += 15
    words = set(_WORD.findall(text.lower()))
    if words & PERSONAL_WORDS:
        points += 15
    if words & POSITIVE_WORDS:
        points += 10
    return min(points, 100)


def recency_points(days: float | None) -> int:
    if days is None:
        return 20
    for limit, points in ((3, 100), (7, 85), (14, 70), (30, 50), (60, 30)):
        if days <= limit:
            return points
    return 10


def resonance_points(*, messages_total: int, messages_inbound: int, average: float | None) -> int:
    if messages_total == 0:
        return 30
    if messages_inbound == 0 or average is None:
        return 20
    return min(round(average), 100)


def need_clarity_points(*, building: bool, friction: bool, win: bool, fit: bool) -> int:
    return 20 + 30 * building + 25 * friction + 15 * win + 10 * fit


def value_points(count: int) -> int:
    return {0: 20, 1: 50, 2: 70}.get(count, 90)


def reliability_points(*, made: int, kept: int) -> int:
    if made <= 0:
        return 50
    return min(round(100 * kept / made), 100)


def consent_points(*, asks_opinion: bool, shares_updates: bool, has_referred: bool) -> int:
    return 30 + 25 * asks_opinion + 25 * shares_updates + 20 * has_referred


def score_factors(inputs: ScoreInputs) -> dict[str, int]:
    """Each factor's 0-100 points, by name."""
    return {
        "recency": recency_points(inputs.days_since_last_message),
        "resonance": resonance_points(
            messages_total=inputs.messages_total,
            messages_inbound=inputs.messages_inbound,
            average=inputs.resonance_average,
        ),
        "need_clarity": need_clarity_points(
            building=inputs.what_theyre_building,
            friction=inputs.current_friction,
            win=inputs.definition_of_win,
            fit=inputs.fit_signals,
        ),
        "value_delivered": value_points(inputs.value_delivered_count),
        "reliability": reliability_points(made=inputs.promises_made, kept=inputs.promises_kept),
        "consent": consent_points(
            asks_opinion=inputs.asks_opinion,
            shares_updates=inputs.shares_updates,
            has_referred=inputs.has_referred_others,
        ),
    }


def relationship_score(inputs: ScoreInputs) -> int:
    """The weighted six-factor score, 0-100."""
    factors = score_factors(inputs)
    total = sum(WEIGHTS[name] * points for name, points in factors.items())
    return max(0, min(100, math.floor(total + 0.5 + 1e-9)))  # half up, not half to even


REWARM_AFTER_DAYS = 30

_NEXT_ACTIONS = {
    "first_touch": "Ask what they are building, and listen.",
    "context_captured": "Deliver one small, specific win for their current friction.",
    "micro_win_delivered": "Follow up on the win and agree a light cadence.",
    "cadence_established": "Keep the cadence: share something useful before you ask anything.",
    "trust_signals": "Ask their opinion on something you are building.",
    "fit_repeats": "Ask permission to tell them about the offer that fits.",
    "permissioned_offer": "Make the offer they gave you permission for, then follow up.",
    "post_win_expansion": "Check in on their results and ask who else it could help.",
}


def relationship_track(*, stage: str, score: int, days_since_last_message: float | None) -> Track:
    """The track follows the stage, except a cold relationship that needs rewarming first."""
    position = STAGE_ORDER.index(stage) if stage in STAGE_ORDER else 0
    gone_cold = days_since_last_message is not None and days_since_last_message > REWARM_AFTER_DAYS
    if gone_cold or (position >= 2 and score < 30):
        return Track.REWARM
    if position <= 1:
        return Track.FRIENDSHIP
    if position <= 3:
        return Track.SERVICE
    if position <= 5:
        return Track.OFFER if score >= 70 else Track.SERVICE
    if position == 6:
        return Track.OFFER
    return Track.RETENTION


def next_action(*, stage: str, score: int, days_since_last_message: float | None) -> str:
    """One suggestion for what to do next with this contact."""
    track = relationship_track(
        stage=stage, score=score, days_since_last_message=days_since_last_message
    )
    if track is Track.REWARM:
        return "Re-warm: reference something they shared and ask how it is going, no pitch."
    if track is Track.SERVICE and stage in ("trust_signals", "fit_repeats"):
        return "Keep delivering value until the score is 70 or more before any offer."
    return _NEXT_ACTIONS.get(stage, _NEXT_ACTIONS["first_touch"])
