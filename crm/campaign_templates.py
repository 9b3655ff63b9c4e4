"""Ready-made outreach campaigns to start from: `manage.py crm campaign create --template …`.

Each is a campaign body (the API's POST /api/campaigns fields) without a name: texts use the
placeholders the campaign model documents ({first_name}, {display_name}, {username}, {platform}).
"""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, Any]] = {
    "warm-intro": {
        "description": "A first, personal hello to contacts who never heard from us.",
        "type": "outreach",
        "message_templates": [
            "Hey {first_name}! I've been enjoying what you post on {platform}. "
            "What are you building right now?"
        ],
        "target_criteria": {"stages": ["first_touch"], "max_score": 60},
    },
    "check-in": {
        "description": "A friendly follow-up with contacts we already talk to.",
        "type": "follow_up",
        "message_templates": [
            "Hi {first_name}, how is it going since we last talked? Anything I can help with?"
        ],
        "target_criteria": {"stages": ["context_captured", "micro_win_delivered"]},
    },
    "value-first": {
        "description": "Share something useful with contacts whose friction we know.",
        "type": "value",
        "message_templates": [
            "{first_name}, I put together a short guide that might help with what you told me. "
            "Want me to send it over?"
        ],
        "target_criteria": {"stages": ["context_captured", "cadence_established"], "min_score": 40},
    },
}


def template_body(name: str) -> dict[str, Any]:
    """A copy of the named template, or a KeyError naming the known ones."""
    try:
        body = TEMPLATES[name]
    except KeyError:
        raise KeyError(
            f"unknown template {name!r}; known: {', '.join(sorted(TEMPLATES))}"
        ) from None
    return {
        key: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        for key, v in body.items()
    }
