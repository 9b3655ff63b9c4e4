"""Pure text helpers: message identity and campaign templates."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime

from safari_auto.text import normalise_text as normalise_text  # one rule, shared with dm

_VARIABLE = re.compile(r"\{([a-z_]+)\}")
_WORD_PART = re.compile(r"[^\W_]+")
TOKEN_MAX = 64


def text_key(text: str) -> str:
    return hashlib.sha1(normalise_text(text).encode(), usedforsecurity=False).hexdigest()


def search_tokens(*texts: str) -> set[str]:
    """The words search matches by prefix: letters and digits, lower-case, so "@Ana.G_art"
    gives {"ana", "g", "art"} and a query "ana g" finds it."""
    return {part[:TOKEN_MAX] for text in texts for part in _WORD_PART.findall(text.casefold())}


def name_letters(name: str) -> str:
    """A name's letters and digits, case-folded: "Maya Builds" and "@maya_builds" both give
    "mayabuilds"."""
    return "".join(_WORD_PART.findall(unicodedata.normalize("NFKC", name).casefold()))


def handle_candidates(name: str) -> set[str]:
    """The handles a shown name most likely stands for: its words joined by nothing, `_`,
    `.` or `-` ("Maya Builds" -> mayabuilds, maya_builds, maya.builds, maya-builds)."""
    words = _WORD_PART.findall(unicodedata.normalize("NFKC", name).casefold())
    return {sep.join(words) for sep in ("", "_", ".", "-")} - {""}


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def first_name(display_name: str) -> str:
    parts = display_name.strip().split()
    return parts[0] if parts else ""


def template_variables(*, display_name: str, username: str, platform: str) -> dict[str, str]:
    return {
        "first_name": first_name(display_name) or username,
        "display_name": display_name or username,
        "username": username,
        "platform": platform,
    }


def template_render(template: str, variables: dict[str, str]) -> str:
    """Fill {variable}s; an unknown variable is left as written, so a typo shows in previews."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), template)


def template_text(template: object) -> str:
    """A template is a string, or a dict with a `text` (or `template`, `body`) key."""
    if isinstance(template, dict):
        for key in ("text", "template", "body", "message"):
            if isinstance(template.get(key), str):
                return str(template[key])
        return ""
    return template if isinstance(template, str) else ""
